/**
 * Settling around real chat requests, on a real database, with providers the tests script:
 * failed, cancelled and cut requests, the answering model's prices, usage beyond the hold
 * (never capped: charged up to what is available, the rest recorded), the clamped budget and
 * the 402, and the billing events.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Result, Stream } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import type { ChatCompletion, ChatCompletionChunk } from "../../src/domain/Chat.ts"
import { countPromptTokens, countTextTokens } from "../../src/domain/Tokens.ts"
import type { ProviderRequest } from "../../src/providers/Provider.ts"
import { Billing } from "../../src/services/billing/Billing.ts"
import { reservationFor } from "../../src/services/billing/Metering.ts"
import { ChatCompletions } from "../../src/services/chat/ChatCompletions.ts"
import { builtInModels } from "../../src/services/registry/ModelCatalog.ts"
import { billingLayer, recordedEvents, holdsOf, ledgerOf, ledgerViolations } from "../support/billing.ts"
import { type FreshDatabase, freshDatabase } from "../support/database.ts"
import { gpt4Prices, handCost } from "../support/handCost.ts"
import {
  catalogModel as model,
  consume,
  expectOnlyInitial,
  inputFor,
  newUser,
  overloaded,
  scripted,
  simulator,
  timedOut,
  usd
} from "../support/scripted.ts"
import { postgresAvailable } from "../support/services.ts"

let database: FreshDatabase
beforeAll(async () => {
  if (postgresAvailable) database = await freshDatabase("billing_settle")
})
afterAll(() => database?.drop())

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
      const reservation = Result.getOrThrow(
        reservationFor({
          ...input,
          userId,
          request: input.request,
          model: gpt4,
          candidates: [],
          maxTokens: 8192
        })
      )
      // $0.01 is 10,000,000 nano-dollars; the prompt's ceiling costs 30,000 a token, what is left buys output
      // tokens at 60,000 each (whole tokens: rounded down).
      const affordable = Number((10_000_000n - BigInt(reservation.promptTokens) * 30_000n) / 60_000n)
      expect(affordable).toBeLessThan(8192)

      const { servedBy, settlement } = yield* (yield* ChatCompletions).complete(input)
      expect(servedBy.maxTokens).toBe(affordable)
      expect(requests[0]!.maxTokens).toBe(affordable)
      expect(settlement!.balance).toBe(usd("0.01") - settlement!.charged)
      expect(yield* ledgerViolations([userId])).toEqual([])
    }).pipe(Effect.provide(billingLayer(database.url, provider, { BILLING_INITIAL_BALANCE: "0.01" })))
  })

  it.effect("a fallback's answer is charged usage × the fallback's prices, with one ledger row", () => {
    // gpt-4 is down; its catalog fallback gpt-3.5-turbo answers under the same hold.
    const models = builtInModels.map((entry) =>
      entry.id === "gpt-4" ? { ...entry, fallbacks: ["gpt-3.5-turbo"] } : entry
    )
    const modelsFile = join(mkdtempSync(join(tmpdir(), "billing-models-")), "models.json")
    writeFileSync(modelsFile, JSON.stringify({ models }))
    const answer = (model: string): ChatCompletion => ({
      id: "c",
      object: "chat.completion",
      created: 0,
      model,
      choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 123, completion_tokens: 45, total_tokens: 168 }
    })
    const { provider, requests } = scripted({
      complete: (request) =>
        request.model.id === "gpt-4" ? Effect.fail(overloaded) : Effect.succeed(answer(request.model.id))
    })
    return Effect.gen(function* () {
      const userId = newUser("fallback")
      const input = inputFor(userId)
      const { servedBy, settlement } = yield* (yield* ChatCompletions).complete(input)
      expect(requests.map((request) => request.model.id)).toEqual(["gpt-4", "gpt-3.5-turbo"])
      expect(servedBy).toMatchObject({ model: { id: "gpt-3.5-turbo" }, fallbackFrom: "gpt-4" })
      // 123 × 500 + 45 × 1,500 nano-dollars ($0.50 and $1.50 per million tokens).
      const expected = 129_000n
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
    }).pipe(Effect.provide(billingLayer(database.url, provider, { MODELS_FILE: modelsFile })))
  })

  /** A provider that reports `usage` whatever it was asked: say, an image it billed as 100,000 prompt tokens. */
  const reporting = (usage: { prompt_tokens: number; completion_tokens: number }) =>
    scripted({
      complete: (request) =>
        Effect.map(simulator.complete(request), (answer) => ({
          ...answer,
          usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens }
        }))
    }).provider

  it.effect("a cost between two nano-dollars is rounded up, in the answer and in the ledger", () => {
    // Prices with more decimals than nano-dollars per token: $0.1234567 and $0.0000001 per million tokens.
    const models = builtInModels.map((entry) =>
      entry.id === "gpt-4" ? { ...entry, input_price_per_1m: 0.1234567, output_price_per_1m: 0.0000001 } : entry
    )
    const modelsFile = join(mkdtempSync(join(tmpdir(), "billing-models-")), "models.json")
    writeFileSync(modelsFile, JSON.stringify({ models }))
    return Effect.gen(function* () {
      const userId = newUser("rounded-up")
      const { settlement } = yield* (yield* ChatCompletions).complete(inputFor(userId))
      // 10 × 123.4567 = 1,234.567 → 1,235 nano-dollars; 3 × 0.0001 = 0.0003 → 1. Rounded down it would be 1,234.
      expect(settlement).toMatchObject({ status: "charged", charged: 1_236n, balance: usd("100") - 1_236n })
      const [, charge] = yield* ledgerOf(userId)
      expect(charge).toMatchObject({ amount: "-0.000001236", balance_after: "99.999998764" })
      expect(yield* ledgerViolations([userId])).toEqual([])
    }).pipe(
      Effect.provide(
        billingLayer(database.url, reporting({ prompt_tokens: 10, completion_tokens: 3 }), { MODELS_FILE: modelsFile })
      )
    )
  })

  it.effect("a usage beyond the hold is charged its true cost when the balance allows, never capped at the hold", () =>
    Effect.gen(function* () {
      const userId = newUser("beyond-hold")
      const input = inputFor(userId, { max_tokens: 1 })
      const gpt4 = yield* model("gpt-4")
      const hold = Result.getOrThrow(reservationFor({ ...input, userId, model: gpt4, candidates: [], maxTokens: 1 }))
      expect(hold.promptCost + 60_000n).toBeLessThan(usd("0.01")) // the hold: the prompt and one token at $60 per million
      const { settlement } = yield* (yield* ChatCompletions).complete(input)
      // 100,000 × $30 + 1 × $60 per million tokens.
      expect(settlement).toMatchObject({ status: "charged", charged: usd("3.00006"), uncollected: 0n })
      const [, charge] = yield* ledgerOf(userId)
      expect(charge).toMatchObject({ amount: "-3.000060000", uncollected: "0.000000000", prompt_tokens: 100_000 })
      expect(yield* ledgerViolations([userId])).toEqual([])
    }).pipe(Effect.provide(billingLayer(database.url, reporting({ prompt_tokens: 100_000, completion_tokens: 1 }))))
  )

  it.effect("a usage beyond what the account has takes all that is available and records the rest", () => {
    const events = recordedEvents()
    return Effect.gen(function* () {
      const userId = newUser("beyond-balance")
      const { settlement } = yield* (yield* ChatCompletions).complete(inputFor(userId, { max_tokens: 10 }))
      // 5M × $30 + 5M × $60 = $450 against a balance of $100: never below zero.
      expect(settlement).toMatchObject({ charged: usd("100"), uncollected: usd("350"), balance: 0n, available: 0n })
      const [, charge] = yield* ledgerOf(userId)
      expect(charge).toMatchObject({
        amount: "-100.000000000",
        balance_after: "0.000000000",
        uncollected: "350.000000000"
      })
      expect(events.uncollected).toEqual([["gpt-4", usd("350")]])
      expect(yield* ledgerViolations([userId])).toEqual([])
    }).pipe(
      Effect.provide(
        billingLayer(database.url, reporting({ prompt_tokens: 5_000_000, completion_tokens: 5_000_000 })).pipe(
          Layer.provide(events.layer)
        )
      )
    )
  })

  it.effect("a token count above 2^31 - 1 settles (the ledger's counts are bigint)", () =>
    Effect.gen(function* () {
      const userId = newUser("huge-count")
      const { settlement } = yield* (yield* ChatCompletions).complete(inputFor(userId, { max_tokens: 1 }))
      expect(settlement).toMatchObject({ status: "charged", charged: usd("100"), balance: 0n })
      const [, charge] = yield* ledgerOf(userId)
      expect(charge).toMatchObject({ prompt_tokens: 3_000_000_000, completion_tokens: 1 })
      expect(yield* ledgerViolations([userId])).toEqual([])
    }).pipe(
      Effect.provide(billingLayer(database.url, reporting({ prompt_tokens: 3_000_000_000, completion_tokens: 1 })))
    )
  )

  it.effect("a finished stream is charged its final usage exactly", () => {
    const { provider } = scripted()
    return Effect.gen(function* () {
      const userId = newUser("stream")
      const chunks = yield* consume(inputFor(userId, { stream: true }))
      const usage = chunks.at(-1)!.usage!
      const [, charge] = yield* ledgerOf(userId)
      expect(charge).toMatchObject({ prompt_tokens: usage.prompt_tokens, usage_source: "provider" })
      const expected = handCost(gpt4Prices, {
        promptTokens: usage.prompt_tokens,
        completionTokens: usage.completion_tokens
      })
      expect(usd(charge!.amount)).toBe(-expected)
      expect(yield* holdsOf(userId)).toEqual([])
    }).pipe(Effect.provide(billingLayer(database.url, provider)))
  })

  /** The tokenizer's count of what a cut stream sent, piece by piece (the simulator reports usage only at the end). */
  const streamedTokens = Effect.fnUntraced(function* (chunks: ReadonlyArray<ChatCompletionChunk>) {
    const gpt4 = yield* model("gpt-4")
    return chunks.reduce((sum, chunk) => sum + countTextTokens(chunk.choices[0]?.delta.content ?? "", gpt4), 0)
  })
  /** The simulator's stream, one chunk per pull, as an upstream delivers them over the network. */
  const oneByOne = (request: ProviderRequest) => Stream.rechunk(simulator.stream(request), 1)

  it.effect("a stream the client cuts is charged the prompt and the tokens streamed, counted by the tokenizer", () => {
    const { provider } = scripted({ stream: oneByOne })
    return Effect.gen(function* () {
      const userId = newUser("cut-by-client")
      const input = inputFor(userId, { stream: true })
      const received = yield* consume(input, 4)
      const [, charge] = yield* ledgerOf(userId)
      expect(charge).toMatchObject({
        usage_source: "tokenizer",
        prompt_tokens: countPromptTokens(input.request, yield* model("gpt-4")),
        completion_tokens: yield* streamedTokens(received)
      })
      const expected = handCost(gpt4Prices, {
        promptTokens: countPromptTokens(input.request, yield* model("gpt-4")),
        completionTokens: yield* streamedTokens(received)
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
      expect(charge).toMatchObject({ usage_source: "tokenizer", completion_tokens: yield* streamedTokens(streamed) })
      expect(yield* ledgerViolations([userId])).toEqual([])
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
      expect(yield* ledgerViolations([userId])).toEqual([])
    }).pipe(Effect.provide(billingLayer(database.url, scripted().provider)))
  )

  it.effect("tells the billing events the balance after each charge (for the user_balance gauge)", () => {
    const events = recordedEvents()
    return Effect.gen(function* () {
      const userId = newUser("observed")
      const { settlement } = yield* (yield* ChatCompletions).complete(inputFor(userId))
      expect(events.balances).toEqual([[userId, settlement!.balance]])
    }).pipe(Effect.provide(billingLayer(database.url, scripted().provider).pipe(Layer.provide(events.layer))))
  })
})
