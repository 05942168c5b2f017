/**
 * The rate limiter's verdict and the reserve run concurrently: a chat request holds its
 * reservation while the verdict is pending, calls no upstream before it, and a refusal
 * releases the hold, plain or streamed.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { afterAll, beforeAll } from "vitest"
import { RateLimited } from "../../src/domain/errors.ts"
import { ChatCompletions } from "../../src/services/chat/ChatCompletions.ts"
import { billingLayer, eventually, holdsOf, ledgerViolations } from "../support/billing.ts"
import { type FreshDatabase, freshDatabase } from "../support/database.ts"
import { consume, expectOnlyInitial, inputFor, newUser, scripted } from "../support/scripted.ts"
import { postgresAvailable } from "../support/services.ts"

let database: FreshDatabase
beforeAll(async () => {
  if (postgresAvailable) database = await freshDatabase("billing_admission")
})
afterAll(() => database?.drop())

const refused = new RateLimited({ message: "Rate limit exceeded. Try again in 60 seconds.", retryAfterSeconds: 60 })

describe.skipIf(!postgresAvailable)("a chat request and the rate limiter's verdict", () => {
  it.live("the hold is taken while the verdict is pending, and nothing goes upstream before it", () => {
    const upstream = scripted()
    return Effect.gen(function* () {
      const chat = yield* ChatCompletions
      const userId = newUser("pending-verdict")
      const verdict = yield* Deferred.make<void, RateLimited>()
      const request = yield* Effect.forkChild(
        chat.complete({ ...inputFor(userId), admission: Deferred.await(verdict) })
      )
      yield* eventually(Effect.map(holdsOf(userId), (holds) => holds.length === 1))
      expect(upstream.requests).toHaveLength(0)
      yield* Deferred.succeed(verdict, undefined)
      const { settlement } = yield* Fiber.join(request)
      expect(settlement?.status).toBe("charged")
      expect(upstream.requests).toHaveLength(1)
      expect(yield* holdsOf(userId)).toHaveLength(0)
      expect(yield* ledgerViolations([userId])).toEqual([])
    }).pipe(Effect.provide(billingLayer(database.url, upstream.provider)))
  })

  it.live("a refused plain request releases its hold and calls no upstream", () => {
    const upstream = scripted()
    return Effect.gen(function* () {
      const chat = yield* ChatCompletions
      const userId = newUser("refused-plain")
      const error = yield* Effect.flip(chat.complete({ ...inputFor(userId), admission: Effect.fail(refused) }))
      expect(error).toBe(refused)
      expect(upstream.requests).toHaveLength(0)
      yield* expectOnlyInitial(userId, "100")
    }).pipe(Effect.provide(billingLayer(database.url, upstream.provider)))
  })

  it.live("a refused stream releases its hold and calls no upstream", () => {
    const upstream = scripted()
    return Effect.gen(function* () {
      const userId = newUser("refused-stream")
      const error = yield* Effect.flip(
        consume({ ...inputFor(userId, { stream: true }), admission: Effect.fail(refused) })
      )
      expect(error).toBe(refused)
      expect(upstream.requests).toHaveLength(0)
      yield* expectOnlyInitial(userId, "100")
    }).pipe(Effect.provide(billingLayer(database.url, upstream.provider)))
  })
})
