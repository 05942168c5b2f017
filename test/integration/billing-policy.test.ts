/**
 * The charging policy of docs/billing.md, row by row, for each provider: the real chat path
 * and ledger, with an upstream that sends chunks shaped as that provider's adapter emits them
 * (OpenAI's usage only at the end, Anthropic's prompt counts at once, Gemini's with every chunk).
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import type { CatalogModel } from "../../src/domain/Catalog.ts"
import type { ChatCompletionChunk, ChatCompletionRequest } from "../../src/domain/Chat.ts"
import {
  OverloadedReason,
  ProtocolReason,
  ProviderError,
  type ProviderErrorReason,
  TimeoutReason
} from "../../src/domain/ProviderError.ts"
import { countPromptTokens, countTextTokens } from "../../src/domain/Tokens.ts"
import { ChatCompletions } from "../../src/services/chat/ChatCompletions.ts"
import { builtInModels } from "../../src/services/registry/ModelCatalog.ts"
import { billingLayer, chargesOf, ledgerViolations, settleIo } from "../support/billing.ts"
import { type FreshDatabase, freshDatabase } from "../support/database.ts"
import { claude3Prices, gemini15ProPrices, gpt4Prices, type HandPrices, handCost } from "../support/handCost.ts"
import { catalogModel, consume, expectOnlyInitial, inputFor, newUser, scripted, usd } from "../support/scripted.ts"
import { chunksBeforeText, providerStream, type Vendor, vendors } from "../support/scriptedStreams.ts"
import { postgresAvailable } from "../support/services.ts"

let database: FreshDatabase
beforeAll(async () => {
  if (postgresAvailable) database = await freshDatabase("billing_policy")
})
afterAll(() => database?.drop())

const modelOf: Record<Vendor, string> = { openai: "gpt-4", anthropic: "claude-3", gemini: "gemini-1.5-pro" }
const pricesOf: Record<Vendor, HandPrices> = { openai: gpt4Prices, anthropic: claude3Prices, gemini: gemini15ProPrices }
/**
 * The whole usage below (300 prompt tokens, 100 of them cached, 12 completion tokens), priced by hand:
 * gpt-4 (no cache price: cached tokens at the $30 input price): 300 × 30,000 + 12 × 60,000 = 9,720,000;
 * claude-3: 200 × 250 + 100 × 30 + 12 × 1,250 = 68,000;
 * gemini-1.5-pro: 200 × 1,250 + 100 × 312.5 + 12 × 5,000 = 341,250 nano-dollars.
 */
const wholeCost: Record<Vendor, bigint> = { openai: 9_720_000n, anthropic: 68_000n, gemini: 341_250n }
const pieces = ["Once ", "upon ", "a ", "time ", "there ", "was ", "a ", "gateway."]
const usage = { prompt: 300, cached: 100, completion: 12, reasoning: 4 }

const failure = (reason: ProviderErrorReason) => new ProviderError({ provider: "scripted", model: "m", reason })
const overloaded = failure(new OverloadedReason({ message: "overloaded_error", status: 529 }))

/** The vendor's stream: its first `count` chunks, one per pull, then `end` (nothing: the rest of the stream). */
const streamed = (vendor: Vendor, count: number, end?: ProviderError) => {
  const chunks = Stream.rechunk(Stream.fromIterable(providerStream(vendor, pieces, usage).slice(0, count)), 1)
  return end === undefined ? chunks : Stream.concat(chunks, Stream.fail(end))
}

const whole = (vendor: Vendor) => providerStream(vendor, pieces, usage).length

/** Chunks up to and including the `n`-th text chunk. */
const throughText = (vendor: Vendor, n: number) =>
  vendor === "gemini" ? chunksBeforeText(vendor) + 2 * n : chunksBeforeText(vendor) + n

/** What docs/billing.md says a stream metered up to its `n`-th text chunk is charged. */
const metered = (vendor: Vendor, model: CatalogModel, request: ChatCompletionRequest, n: number) => {
  const prices = pricesOf[vendor]
  const streamed = pieces.slice(0, n).reduce((sum, piece) => sum + countTextTokens(piece, model), 0)
  const providerPrompt = vendor === "anthropic" || (vendor === "gemini" && n > 0)
  if (!providerPrompt) {
    const counts = { promptTokens: countPromptTokens(request, model), completionTokens: streamed }
    return { source: "tokenizer", counts, cost: handCost(prices, counts) }
  }
  const counts = {
    promptTokens: 300,
    cachedTokens: 100,
    completionTokens: Math.max(vendor === "anthropic" ? 1 : n, streamed)
  }
  return { source: "partial", counts, cost: handCost(prices, counts) }
}

/** The one charge of a user, checked against what the policy says. */
const expectCharged = (
  userId: string,
  expected: { readonly source: string; readonly cost: bigint; readonly model: string }
) =>
  Effect.gen(function* () {
    const charges = yield* chargesOf(userId)
    expect(charges).toHaveLength(1)
    expect(charges[0]).toMatchObject({ usage_source: expected.source, model: expected.model })
    expect(usd(charges[0]!.amount)).toBe(-expected.cost)
    expect(yield* ledgerViolations([userId])).toEqual([])
  })

describe.skipIf(!postgresAvailable).each(vendors)("%s: what a request costs when it", (vendor) => {
  const modelId = modelOf[vendor]
  const streamInput = (userId: string) => inputFor(userId, { model: modelId, stream: true })

  it.effect("completes: the provider's final usage, cache and reasoning details priced", () => {
    const { provider } = scripted({ stream: () => streamed(vendor, whole(vendor)) })
    return Effect.gen(function* () {
      const userId = newUser(`${vendor}-complete`)
      yield* consume(streamInput(userId))
      yield* expectCharged(userId, { source: "provider", cost: wholeCost[vendor], model: modelId })
      expect((yield* chargesOf(userId))[0]).toMatchObject({ cached_tokens: 100, reasoning_tokens: 4 })
    }).pipe(Effect.provide(billingLayer(database.url, provider)))
  })

  it.effect("fails before any output: nothing", () => {
    const { provider } = scripted({ stream: () => Stream.fail(overloaded) })
    return Effect.gen(function* () {
      const userId = newUser(`${vendor}-no-output`)
      expect((yield* Effect.flip(consume(streamInput(userId))))._tag).toBe("ServiceUnavailable")
      yield* expectOnlyInitial(userId, "100")
    }).pipe(Effect.provide(billingLayer(database.url, provider)))
  })

  it.effect("fails after only its first chunks (the role; Anthropic's prompt counts): nothing", () => {
    const { provider } = scripted({ stream: () => streamed(vendor, chunksBeforeText(vendor), overloaded) })
    return Effect.gen(function* () {
      const userId = newUser(`${vendor}-role-only`)
      expect((yield* Effect.flip(consume(streamInput(userId))))._tag).toBe("ServiceUnavailable")
      yield* expectOnlyInitial(userId, "100")
    }).pipe(Effect.provide(billingLayer(database.url, provider)))
  })

  it.effect("fails mid-stream after output began: what was metered", () => {
    const { provider } = scripted({ stream: () => streamed(vendor, throughText(vendor, 3), overloaded) })
    return Effect.gen(function* () {
      const input = streamInput(newUser(`${vendor}-mid-stream`))
      expect((yield* Effect.flip(consume(input)))._tag).toBe("ServiceUnavailable")
      const expected = metered(vendor, yield* catalogModel(modelId), input.request, 3)
      yield* expectCharged(input.user.id, { ...expected, model: modelId })
    }).pipe(Effect.provide(billingLayer(database.url, provider)))
  })

  it.effect("times out mid-stream after output began: what was metered", () => {
    const timedOut = failure(new TimeoutReason({ message: "no chunk in time" }))
    const { provider } = scripted({ stream: () => streamed(vendor, throughText(vendor, 5), timedOut) })
    return Effect.gen(function* () {
      const input = streamInput(newUser(`${vendor}-stream-timeout`))
      expect((yield* Effect.flip(consume(input)))._tag).toBe("GatewayTimeout")
      const expected = metered(vendor, yield* catalogModel(modelId), input.request, 5)
      yield* expectCharged(input.user.id, { ...expected, model: modelId })
    }).pipe(Effect.provide(billingLayer(database.url, provider)))
  })

  it.effect("is cut by the client: what was metered, the prompt even before any output", () => {
    const { provider } = scripted({ stream: () => streamed(vendor, whole(vendor)) })
    return Effect.gen(function* () {
      const model = yield* catalogModel(modelId)
      for (const texts of [2, 0]) {
        const input = streamInput(newUser(`${vendor}-cut-${texts}`))
        yield* consume(input, throughText(vendor, texts))
        yield* expectCharged(input.user.id, { ...metered(vendor, model, input.request, texts), model: modelId })
      }
      // Gone before reading anything: the upstream had accepted the request (its first chunk had arrived).
      const input = streamInput(newUser(`${vendor}-cut-unread`))
      yield* consume(input, 0)
      const counts = { promptTokens: countPromptTokens(input.request, model), completionTokens: 0 }
      yield* expectCharged(input.user.id, {
        source: "tokenizer",
        cost: handCost(pricesOf[vendor], counts),
        model: modelId
      })
    }).pipe(Effect.provide(billingLayer(database.url, provider)))
  })

  it.effect("gets an answer that cannot be understood: the tokenizer's count of the prompt and what was read", () => {
    const unreadable = failure(new ProtocolReason({ message: "prompt_tokens: 10.5", completionText: "Once upon" }))
    const { provider, requests } = scripted({
      complete: () => Effect.fail(unreadable),
      stream: () => Stream.fail(unreadable)
    })
    return Effect.gen(function* () {
      const model = yield* catalogModel(modelId)
      for (const stream of [false, true]) {
        const input = inputFor(newUser(`${vendor}-protocol-${stream}`), { model: modelId, stream })
        const chat = yield* ChatCompletions
        const error = yield* Effect.flip(stream ? Effect.asVoid(consume(input)) : Effect.asVoid(chat.complete(input)))
        expect(error._tag).toBe("UpstreamError")
        const counts = {
          promptTokens: countPromptTokens(input.request, model),
          completionTokens: countTextTokens("Once upon", model)
        }
        yield* expectCharged(input.user.id, {
          source: "tokenizer",
          cost: handCost(pricesOf[vendor], counts),
          model: modelId
        })
      }
      // Never retried: each retry would be another paid call.
      expect(requests).toHaveLength(2)
    }).pipe(Effect.provide(billingLayer(database.url, provider, { RETRY_ENABLED: "true" })))
  })
})

describe.skipIf(!postgresAvailable)("a plain request that times out", () => {
  it.effect("costs nothing: no usage was received", () => {
    const started = Deferred.makeUnsafe<void>()
    const { provider } = scripted({
      complete: () => Effect.andThen(Deferred.succeed(started, undefined), Effect.never)
    })
    return Effect.gen(function* () {
      const userId = newUser("plain-timeout")
      // A one-token budget keeps the attempt's bound at UPSTREAM_ATTEMPT_TIMEOUT_SECONDS; past the request's.
      const request = yield* Effect.forkChild((yield* ChatCompletions).complete(inputFor(userId, { max_tokens: 1 })))
      yield* Deferred.await(started)
      // Ten seconds at a time, the billing statements finishing in between, until the request gives up.
      while (request.pollUnsafe() === undefined) {
        yield* TestClock.adjust(10_000)
        yield* settleIo
      }
      expect((yield* Effect.flip(Fiber.join(request)))._tag).toBe("GatewayTimeout")
      yield* expectOnlyInitial(userId, "100")
    }).pipe(Effect.provide(billingLayer(database.url, provider)))
  })
})

describe.skipIf(!postgresAvailable)("a request answered by a fallback", () => {
  // gpt-4 is down; its fallback claude-3 answers under the same hold.
  const modelsFile = join(mkdtempSync(join(tmpdir(), "billing-policy-")), "models.json")
  writeFileSync(
    modelsFile,
    JSON.stringify({
      models: builtInModels.map((entry) => (entry.id === "gpt-4" ? { ...entry, fallbacks: ["claude-3"] } : entry))
    })
  )
  const answer = (chunks: ReadonlyArray<ChatCompletionChunk>) => Stream.fromIterable(chunks)
  const { provider } = scripted({
    stream: (request) =>
      request.model.id === "gpt-4" ? Stream.fail(overloaded) : answer(providerStream("anthropic", pieces, usage))
  })

  it.effect("streamed, is charged the fallback's usage at the fallback's prices", () =>
    Effect.gen(function* () {
      const userId = newUser("fallback-stream")
      yield* consume(inputFor(userId, { stream: true }))
      yield* expectCharged(userId, { source: "provider", cost: wholeCost.anthropic, model: "claude-3" })
      expect((yield* chargesOf(userId))[0]).toMatchObject({
        description: "Chat completion with claude-3",
        cached_input_price_per_1m: "0.030000000"
      })
    }).pipe(Effect.provide(billingLayer(database.url, provider, { MODELS_FILE: modelsFile })))
  )
})
