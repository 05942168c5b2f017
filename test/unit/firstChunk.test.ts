/**
 * Resilience's `firstChunk`: an attempt's stream is opened and read up to its first chunk in a scope
 * of its own; the served stream starts with that chunk and reads the rest from the same pull, in the
 * context the stream was opened in (not the reader's), and a failure before the first chunk releases
 * what the attempt opened at once.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Scope, Stream } from "effect"
import { ProviderError, TransportReason } from "../../src/domain/ProviderError.ts"
import { firstChunk } from "../../src/services/resilience/Resilience.ts"

/** Which side reads: set to "opened" where the stream is opened, "reader" where its rest is read. */
const Side = Context.Reference<string>("test/firstChunk/Side", { defaultValue: () => "unset" })

const refused = new ProviderError({
  provider: "openai",
  model: "gpt-4",
  reason: new TransportReason({ message: "ECONNRESET" })
})

/** A resource the stream opens (its upstream connection), its release recorded. */
const connection = (released: Array<string>) =>
  Effect.acquireRelease(Effect.void, () => Effect.sync(() => released.push("connection")))

/** Emits 1, 2, 3, one per pull, recording the side each pull ran on. */
const countingStream = (sides: Array<string>) => {
  let next = 1
  const pull = Effect.gen(function* () {
    sides.push(yield* Side)
    return [next++] as const
  })
  return Stream.fromPull(Effect.succeed(pull)).pipe(Stream.take(3))
}

describe("firstChunk", () => {
  it.effect("serves the first chunk, then reads the rest from the same pull in the context it was opened in", () =>
    Effect.gen(function* () {
      const sides: Array<string> = []
      const served = yield* firstChunk(countingStream(sides)).pipe(Effect.provideService(Side, "opened"))
      assert.deepStrictEqual(sides, ["opened"])
      const chunks = yield* Stream.runCollect(served).pipe(Effect.provideService(Side, "reader"))
      assert.deepStrictEqual(chunks, [1, 2, 3])
      assert.deepStrictEqual(sides, ["opened", "opened", "opened"])
    }).pipe(Effect.scoped)
  )

  it.effect("serves a stream that ends before any chunk as an empty one, and releases what it opened", () =>
    Effect.gen(function* () {
      const released: Array<string> = []
      const served = yield* firstChunk(Stream.unwrap(Effect.as(connection(released), Stream.empty)))
      assert.deepStrictEqual(released, ["connection"])
      assert.deepStrictEqual(yield* Stream.runCollect(served), [])
    }).pipe(Effect.scoped)
  )

  it.effect("keeps what it opened until the request ends, however much of the rest is read", () =>
    Effect.gen(function* () {
      const released: Array<string> = []
      const scope = yield* Scope.make()
      const served = yield* firstChunk(
        Stream.unwrap(Effect.as(connection(released), Stream.make(1, 2, 3).pipe(Stream.rechunk(1))))
      ).pipe(Scope.provide(scope))
      assert.deepStrictEqual(yield* Stream.runCollect(Stream.take(served, 2)), [1, 2])
      assert.deepStrictEqual(released, [])
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(released, ["connection"])
    })
  )

  it.effect("hands a failure after the first chunk to the reader, as it is", () =>
    Effect.gen(function* () {
      const served = yield* firstChunk(Stream.concat(Stream.make(1), Stream.fail(refused)))
      const exit = yield* Effect.exit(Stream.runCollect(served))
      assert.deepStrictEqual(exit, Exit.fail(refused))
    }).pipe(Effect.scoped)
  )

  it.effect("fails with the stream's failure before its first chunk, and releases what it opened at once", () =>
    Effect.gen(function* () {
      const released: Array<string> = []
      const scope = yield* Scope.make()
      const exit = yield* Effect.exit(
        firstChunk(Stream.unwrap(Effect.as(connection(released), Stream.fail(refused)))).pipe(Scope.provide(scope))
      )
      assert.deepStrictEqual(exit, Exit.fail(refused))
      // The request's scope is still open: the attempt's own scope was closed.
      assert.deepStrictEqual(released, ["connection"])
      yield* Scope.close(scope, Exit.void)
    })
  )

  it.effect("releases what it opened when the attempt is interrupted before its first chunk (a timeout)", () =>
    Effect.gen(function* () {
      const released: Array<string> = []
      const scope = yield* Scope.make()
      const attempt = yield* Effect.forkChild(
        firstChunk(Stream.unwrap(Effect.as(connection(released), Stream.never))).pipe(Scope.provide(scope))
      )
      yield* Effect.yieldNow
      yield* Fiber.interrupt(attempt)
      assert.deepStrictEqual(released, ["connection"])
      yield* Scope.close(scope, Exit.void)
    })
  )
})
