/**
 * Billing around real chat requests, on a real database, with providers the tests script:
 * failures, cancellations, cut streams, the answering model's prices, the cap at the hold,
 * and holds left by a crash.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Stream } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { afterAll, beforeAll } from "vitest"
import type { CatalogModel } from "../../src/domain/Catalog.ts"
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "../../src/domain/Chat.ts"
import * as Money from "../../src/domain/Money.ts"
import { OverloadedReason, ProviderError, TimeoutReason } from "../../src/domain/ProviderError.ts"
import { estimatePromptTokens } from "../../src/domain/Tokens.ts"
import type { Provider, ProviderRequest } from "../../src/providers/Provider.ts"
import { makeSimulator } from "../../src/providers/simulator/Simulator.ts"
import { Billing } from "../../src/services/billing/Billing.ts"
import { costOfUsage, minimumCost, reservationFor } from "../../src/services/billing/Metering.ts"
import { ChatCompletions, type ChatInput } from "../../src/services/chat/ChatCompletions.ts"
import { ModelCatalog } from "../../src/services/registry/ModelCatalog.ts"
import { accountOf, billingLayer, holdsOf, ledgerOf, ledgerViolations } from "../support/billing.ts"
import { type FreshDatabase, freshDatabase } from "../support/database.ts"
import { postgresAvailable } from "../support/services.ts"

let database: FreshDatabase
beforeAll(async () => {
  if (postgresAvailable) database = await freshDatabase("billing_service")
})
afterAll(() => database?.drop())

const simulator = makeSimulator({ chunkDelayMs: 0 })
const usd = (text: string) => Money.parse(text)!

let users = 0
const newUser = (label: string) => `${label}-${++users}-${Math.random().toString(36).slice(2, 8)}`

let requests = 0
const inputFor = (userId: string, request: Partial<ChatCompletionRequest> = {}): ChatInput => ({
  user: { id: userId, role: "user", tokenExpiresAt: 0 },
  request: { model: "gpt-4", messages: [{ role: "user", content: "Привет, как дела?" }], ...request },
  requestId: `req-${userId}-${++requests}`
})

/** A provider that records what it was asked and answers as the simulator, unless told otherwise. */
const scripted = (overrides: Partial<Provider> = {}) => {
  const requests: Array<ProviderRequest> = []
  const provider: Provider = {
    name: "openai",
    complete: (request) => {
      requests.push(request)
      return (overrides.complete ?? simulator.complete)(request)
    },
    stream: (request) => {
      requests.push(request)
      return (overrides.stream ?? simulator.stream)(request)
    }
  }
  return { provider, requests }
}

const overloaded = new ProviderError({
  provider: "openai",
  model: "gpt-4",
  reason: new OverloadedReason({ message: "busy", status: 529 })
})
const timedOut = new ProviderError({
  provider: "openai",
  model: "gpt-4",
  reason: new TimeoutReason({ message: "slow" })
})

const model = (id: string) =>
  Effect.gen(function* () {
    return (yield* ModelCatalog).find(id)!
  })

/** Consumes a stream the way the HTTP layer does, in a scope that closes (and settles) when it is done. */
const consume = (input: ChatInput, take?: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const chat = yield* ChatCompletions
      const { chunks } = yield* chat.stream(input)
      return yield* Stream.runCollect(take === undefined ? chunks : Stream.take(chunks, take))
    })
  )

/** Lets pending real I/O (the sweeper's statements) complete: a few turns of the event loop, no time passing. */
const settleIo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  for (let turn = 0; turn < 5; turn++) yield* sql`SELECT 1`
})

/** Lets real I/O (the sweeper's statements) progress while the test clock stands still. */
const eventually = <E, R>(condition: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function* () {
    for (let attempt = 0; attempt < 2000; attempt++) {
      if (yield* condition) return
      yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
    }
    return yield* Effect.die(new Error("the condition never held"))
  })

const expectOnlyInitial = (userId: string, initial: string) =>
  Effect.gen(function* () {
    const ledger = yield* ledgerOf(userId)
    expect(ledger.map((row) => row.kind)).toEqual(["initial"])
    const account = (yield* accountOf(userId))!
    expect(usd(account.balance)).toBe(usd(initial))
    expect(usd(account.held)).toBe(0n)
    expect(yield* holdsOf(userId)).toEqual([])
  })

describe.skipIf(!postgresAvailable)("billing around chat requests", () => {
  it.effect.each([
    ["is overloaded", overloaded, "ServiceUnavailable"],
    ["times out", timedOut, "GatewayTimeout"]
  ] as const)("an upstream that %s: the hold is released and nothing charged", ([, error, tag]) => {
    const { provider, requests } = scripted({ complete: () => Effect.fail(error) })
    return Effect.gen(function* () {
      const userId = newUser("failed")
      const failure = yield* Effect.flip((yield* ChatCompletions).complete(inputFor(userId)))
      expect(failure._tag).toBe(tag)
      expect(requests).toHaveLength(1)
      yield* expectOnlyInitial(userId, "100")
    }).pipe(Effect.provide(billingLayer(database.url, provider)))
  })

  it.effect("a client that leaves during the upstream call: the call is interrupted and the hold released", () => {
    const started = Deferred.makeUnsafe<void>()
    const { provider } = scripted({
      complete: () => Effect.andThen(Deferred.succeed(started, undefined), Effect.never)
    })
    return Effect.gen(function* () {
      const userId = newUser("left")
      const request = yield* Effect.forkChild((yield* ChatCompletions).complete(inputFor(userId)))
      yield* Deferred.await(started)
      expect(yield* holdsOf(userId)).toHaveLength(1)
      yield* Fiber.interrupt(request)
      yield* expectOnlyInitial(userId, "100")
    }).pipe(Effect.provide(billingLayer(database.url, provider)))
  })

  it.effect("402 without calling upstream when not even the prompt and one token are affordable", () => {
    const { provider, requests } = scripted()
    return Effect.gen(function* () {
      const userId = newUser("poor")
      const failure = yield* Effect.flip((yield* ChatCompletions).complete(inputFor(userId)))
      expect(failure._tag).toBe("InsufficientBalance")
      expect(failure.message).toMatch(/^Insufficient balance: \$0\.0001 available/)
      expect(requests).toHaveLength(0)
      yield* expectOnlyInitial(userId, "0.0001")
    }).pipe(Effect.provide(billingLayer(database.url, provider, { BILLING_INITIAL_BALANCE: "0.0001" })))
  })

  it.effect("the completion budget is clamped to what the balance pays for, and that is what goes upstream", () => {
    const { provider, requests } = scripted()
    return Effect.gen(function* () {
      const userId = newUser("clamped")
      const input = inputFor(userId)
      const gpt4 = yield* model("gpt-4")
      const reservation = reservationFor({
        ...input,
        userId,
        request: input.request,
        model: gpt4,
        candidates: [],
        maxTokens: 8192
      })
      const affordable = Money.tokensAffordable(usd("0.01") - reservation.promptCost, gpt4.outputPricePerMillion)
      expect(affordable).toBeLessThan(8192)

      const { servedBy, settlement } = yield* (yield* ChatCompletions).complete(input)
      expect(servedBy.maxTokens).toBe(affordable)
      expect(requests[0]!.maxTokens).toBe(affordable)
      expect(settlement!.balance).toBe(usd("0.01") - settlement!.charged)
      expect(yield* ledgerViolations()).toEqual([])
    }).pipe(Effect.provide(billingLayer(database.url, provider, { BILLING_INITIAL_BALANCE: "0.01" })))
  })

  it.effect("the charge is usage × the prices of the model that answered, with one ledger row", () => {
    const answer: ChatCompletion = {
      id: "c",
      object: "chat.completion",
      created: 0,
      model: "gpt-3.5-turbo",
      choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 123, completion_tokens: 45, total_tokens: 168 }
    }
    const { provider } = scripted({ complete: () => Effect.succeed(answer) })
    return Effect.gen(function* () {
      const userId = newUser("fallback")
      const input = inputFor(userId)
      const { settlement } = yield* (yield* ChatCompletions).complete(input)
      const expected = costOfUsage(yield* model("gpt-3.5-turbo"), { promptTokens: 123, completionTokens: 45 })
      expect(settlement!.charged).toBe(expected)
      const [, charge] = yield* ledgerOf(userId)
      expect(charge).toMatchObject({
        kind: "charge",
        description: "Chat completion with gpt-3.5-turbo",
        model: "gpt-3.5-turbo",
        request_id: input.requestId,
        prompt_tokens: 123,
        completion_tokens: 45,
        usage_source: "provider"
      })
      expect(usd(charge!.amount)).toBe(-expected)
      expect(usd(charge!.balance_after)).toBe(usd("100") - expected)
    }).pipe(Effect.provide(billingLayer(database.url, provider)))
  })

  it.effect("a usage beyond the hold is charged the hold, never more", () => {
    const { provider } = scripted({
      complete: (request) =>
        Effect.map(simulator.complete(request), (answer) => ({
          ...answer,
          usage: { prompt_tokens: 5_000_000, completion_tokens: 5_000_000, total_tokens: 10_000_000 }
        }))
    })
    return Effect.gen(function* () {
      const userId = newUser("capped")
      const input = inputFor(userId, { max_tokens: 10 })
      const gpt4 = yield* model("gpt-4")
      const reservation = reservationFor({ ...input, userId, model: gpt4, candidates: [], maxTokens: 10 })
      const hold = reservation.promptCost + Money.costOf(10, gpt4.outputPricePerMillion)
      const { settlement } = yield* (yield* ChatCompletions).complete(input)
      expect(settlement!.charged).toBe(hold)
      expect(yield* ledgerViolations()).toEqual([])
    }).pipe(Effect.provide(billingLayer(database.url, provider)))
  })

  it.effect("a finished stream is charged its final usage exactly", () => {
    const { provider } = scripted()
    return Effect.gen(function* () {
      const userId = newUser("stream")
      const chunks = yield* consume(inputFor(userId, { stream: true }))
      const usage = chunks.at(-1)!.usage!
      const [, charge] = yield* ledgerOf(userId)
      expect(charge).toMatchObject({ prompt_tokens: usage.prompt_tokens, usage_source: "provider" })
      const expected = costOfUsage(yield* model("gpt-4"), {
        promptTokens: usage.prompt_tokens,
        completionTokens: usage.completion_tokens
      })
      expect(usd(charge!.amount)).toBe(-expected)
      expect(yield* holdsOf(userId)).toEqual([])
    }).pipe(Effect.provide(billingLayer(database.url, provider)))
  })

  /** The documented estimate of a cut stream's completion: at least a token per piece, else ~4 characters a token. */
  const estimatedCompletion = (chunks: ReadonlyArray<ChatCompletionChunk>) => {
    const pieces = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").filter((text) => text !== "")
    return Math.max(pieces.length, Math.ceil(pieces.join("").length / 4))
  }
  /** The simulator's stream, one chunk per pull, as an upstream delivers them over the network. */
  const oneByOne = (request: ProviderRequest) => Stream.rechunk(simulator.stream(request), 1)

  it.effect("a stream the client cuts is charged the prompt and the tokens streamed, marked estimated", () => {
    const { provider } = scripted({ stream: oneByOne })
    return Effect.gen(function* () {
      const userId = newUser("cut-by-client")
      const input = inputFor(userId, { stream: true })
      const received = yield* consume(input, 4)
      const [, charge] = yield* ledgerOf(userId)
      expect(charge).toMatchObject({
        usage_source: "estimated",
        prompt_tokens: estimatePromptTokens(input.request),
        completion_tokens: estimatedCompletion(received)
      })
      const expected = costOfUsage(yield* model("gpt-4"), {
        promptTokens: estimatePromptTokens(input.request),
        completionTokens: estimatedCompletion(received)
      })
      expect(usd(charge!.amount)).toBe(-expected)
      expect(yield* holdsOf(userId)).toEqual([])
    }).pipe(Effect.provide(billingLayer(database.url, provider)))
  })

  it.effect("a stream the upstream cuts is charged what it streamed, and the client sees the failure", () => {
    const { provider } = scripted({
      stream: (request) => Stream.concat(Stream.take(oneByOne(request), 5), Stream.fail(overloaded))
    })
    return Effect.gen(function* () {
      const userId = newUser("cut-upstream")
      const input = inputFor(userId, { stream: true })
      const failure = yield* Effect.flip(consume(input))
      expect(failure._tag).toBe("ServiceUnavailable")
      const streamed = yield* Stream.runCollect(
        Stream.take(oneByOne({ ...input, model: yield* model("gpt-4"), maxTokens: 8192 }), 5)
      )
      const [, charge] = yield* ledgerOf(userId)
      expect(charge).toMatchObject({ usage_source: "estimated", completion_tokens: estimatedCompletion(streamed) })
      expect(yield* ledgerViolations()).toEqual([])
    }).pipe(Effect.provide(billingLayer(database.url, provider)))
  })

  it.effect("a stream that fails before its first chunk is released, not charged", () => {
    const { provider } = scripted({ stream: () => Stream.fail(overloaded) })
    return Effect.gen(function* () {
      const userId = newUser("no-stream")
      expect((yield* Effect.flip(consume(inputFor(userId, { stream: true }))))._tag).toBe("ServiceUnavailable")
      yield* expectOnlyInitial(userId, "100")
    }).pipe(Effect.provide(billingLayer(database.url, provider)))
  })

  it.effect("settling twice charges once", () =>
    Effect.gen(function* () {
      const billing = yield* Billing
      const userId = newUser("twice")
      const gpt4 = yield* model("gpt-4")
      const input = inputFor(userId)
      const hold = yield* billing.reserve(
        reservationFor({ ...input, userId, model: gpt4, candidates: [], maxTokens: 100 })
      )
      const outcome = {
        _tag: "Charge",
        model: gpt4,
        promptTokens: 10,
        completionTokens: 10,
        source: "provider"
      } as const
      const first = yield* billing.settle(hold, outcome)
      const second = yield* billing.settle(hold, outcome)
      expect(first!.charged).toBe(costOfUsage(gpt4, outcome))
      expect(second!.charged).toBe(0n)
      expect((yield* ledgerOf(userId)).map((row) => row.kind)).toEqual(["initial", "charge"])
    }).pipe(Effect.provide(billingLayer(database.url, scripted().provider)))
  )

  it.effect("concurrent first requests create one account with one initial balance", () =>
    Effect.gen(function* () {
      const billing = yield* Billing
      const chat = yield* ChatCompletions
      const userId = newUser("first")
      yield* Effect.all(
        Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? billing.balance(userId) : chat.complete(inputFor(userId)))),
        { concurrency: "unbounded" }
      )
      const ledger = yield* ledgerOf(userId)
      expect(ledger.filter((row) => row.kind === "initial")).toHaveLength(1)
      expect(ledger.filter((row) => row.kind === "charge")).toHaveLength(15)
      expect(yield* ledgerViolations()).toEqual([])
    }).pipe(Effect.provide(billingLayer(database.url, scripted().provider)))
  )
})

describe.skipIf(!postgresAvailable)("holds left by a crashed process", () => {
  const ttl = 900_000
  const reserveAndCrash = (userId: string) =>
    Effect.gen(function* () {
      const billing = yield* Billing
      const gpt4: CatalogModel = yield* model("gpt-4")
      const input = inputFor(userId)
      return yield* billing.reserve(reservationFor({ ...input, userId, model: gpt4, candidates: [], maxTokens: 100 }))
    }).pipe(Effect.provide(billingLayer(database.url, scripted().provider)))

  it.effect("expire after the hold TTL and are released, charging nothing", () =>
    Effect.gen(function* () {
      const userId = newUser("crashed")
      yield* reserveAndCrash(userId)
      yield* Effect.gen(function* () {
        const billing = yield* Billing
        expect(yield* holdsOf(userId)).toHaveLength(1)
        yield* TestClock.adjust(ttl - 1000)
        expect(yield* billing.releaseExpired).toBe(0)
        expect(yield* holdsOf(userId)).toHaveLength(1)
        yield* TestClock.adjust(2000)
        expect(yield* billing.releaseExpired).toBeGreaterThanOrEqual(1)
        yield* expectOnlyInitial(userId, "100")
      }).pipe(Effect.provide(billingLayer(database.url, scripted().provider)))
    })
  )

  it.effect("are released when the gateway starts again", () =>
    Effect.gen(function* () {
      const userId = newUser("restarted")
      yield* reserveAndCrash(userId)
      yield* TestClock.adjust(ttl + 1000)
      yield* Effect.gen(function* () {
        yield* eventually(Effect.map(holdsOf(userId), (holds) => holds.length === 0))
        yield* expectOnlyInitial(userId, "100")
      }).pipe(Effect.provide(billingLayer(database.url, scripted().provider)))
    })
  )

  it.effect("are released by the background sweeper once expired, and not before", () =>
    Effect.gen(function* () {
      const userId = newUser("swept")
      yield* Effect.gen(function* () {
        yield* reserveAndCrash(userId)
        // Time passes one sweep interval (BILLING_SWEEP_INTERVAL_SECONDS) at a time, while the sweeper's statements run.
        const minute = Effect.andThen(TestClock.adjust(60_000), settleIo)
        for (let elapsed = 60_000; elapsed < ttl; elapsed += 60_000) yield* minute
        expect(yield* holdsOf(userId)).toHaveLength(1)
        // Released within a few intervals past expiry (each sweep's statement takes real time to run).
        let minutesPastExpiry = 0
        while ((yield* holdsOf(userId)).length > 0 && minutesPastExpiry < 10) {
          yield* minute
          minutesPastExpiry++
        }
        expect(minutesPastExpiry).toBeLessThanOrEqual(5)
        yield* expectOnlyInitial(userId, "100")
      }).pipe(Effect.provide(billingLayer(database.url, scripted().provider)))
    })
  )

  it.effect("a request that outlives its hold is still charged, within what is available", () =>
    Effect.gen(function* () {
      const billing = yield* Billing
      const userId = newUser("late")
      const gpt4 = yield* model("gpt-4")
      const input = inputFor(userId)
      const reservation = reservationFor({ ...input, userId, model: gpt4, candidates: [], maxTokens: 100 })
      const hold = yield* billing.reserve(reservation)
      yield* TestClock.adjust(ttl + 1000)
      yield* billing.releaseExpired
      const outcome = {
        _tag: "Charge",
        model: gpt4,
        promptTokens: 10,
        completionTokens: 20,
        source: "provider"
      } as const
      const settled = yield* billing.settle(hold, outcome)
      expect(settled!.charged).toBe(costOfUsage(gpt4, outcome))
      expect(minimumCost(reservation)).toBeGreaterThan(0n)
      expect(yield* ledgerViolations()).toEqual([])
    }).pipe(Effect.provide(billingLayer(database.url, scripted().provider)))
  )
})
