import { Result } from "effect"
import { describe, expect, it } from "vitest"
import type { CatalogModel } from "../../src/domain/Catalog.ts"
import type { ChatCompletion, ChatCompletionRequest } from "../../src/domain/Chat.ts"
import * as Money from "../../src/domain/Money.ts"
import { countPromptTokens, countTextTokens, promptUpperBound } from "../../src/domain/Tokens.ts"
import {
  chargeOf,
  costOfUsage,
  minimumCost,
  outcomeOfCompletion,
  partialCharge,
  reservationFor,
  tokenCount
} from "../../src/services/billing/Metering.ts"
import { testModel, usd } from "../support/billingModels.ts"

const cheap = testModel("cheap", { input: "0.5", output: "1.5" })
const dear = testModel("dear", { input: "30", output: "60" })
/** Claude 3 Haiku's published prices: cache hits at $0.03, cache writes at $0.30. */
const cached = testModel("cached", { input: "0.25", cachedInput: "0.03", cacheWrite: "0.3", output: "1.25" })
const request: ChatCompletionRequest = { model: "cheap", messages: [{ role: "user", content: "Привет, как дела?" }] }
const bound = Result.getOrThrow(promptUpperBound(request, [cheap]))

const reserve = (
  model = cheap,
  candidates: ReadonlyArray<CatalogModel> = [],
  extra: Partial<ChatCompletionRequest> = {}
) =>
  Result.getOrThrow(
    reservationFor({
      userId: "u",
      requestId: "r",
      request: { ...request, ...extra },
      model,
      candidates,
      maxTokens: 100
    })
  )

describe("reservationFor", () => {
  it("prices the prompt's upper bound and the completion at the model's prices", () => {
    const reservation = reserve()
    expect(reservation.promptTokens).toBe(bound)
    expect(reservation.promptCost).toBe(Money.costOf(bound, usd("0.5")))
    expect(reservation.outputPricePerMillion).toBe(usd("1.5"))
    expect(reservation.choices).toBe(1)
  })

  it("covers the most expensive model that may answer (fallbacks run under the same hold)", () => {
    const reservation = reserve(cheap, [dear])
    expect(reservation.promptCost).toBe(Money.costOf(bound, usd("30")))
    expect(reservation.outputPricePerMillion).toBe(usd("60"))
  })

  it("never lets a cheaper fallback lower the hold", () => {
    const reservation = reserve(dear, [cheap])
    expect(reservation.promptCost).toBe(Money.costOf(bound, usd("30")))
    expect(reservation.outputPricePerMillion).toBe(usd("60"))
  })

  it("covers a cache write priced above the input price, whichever model of the chain has it", () => {
    expect(reserve(cached).promptCost).toBe(Money.costOf(bound, usd("0.3")))
    const writesDear = testModel("writes-dear", { input: "1", cacheWrite: "40", output: "1" })
    expect(reserve(cheap, [writesDear]).promptCost).toBe(Money.costOf(bound, usd("40")))
  })

  it("needs at least the prompt and one token per choice", () => {
    const reservation = reserve(dear, [], { n: 3 })
    expect(reservation.choices).toBe(3)
    expect(minimumCost(reservation)).toBe(reservation.promptCost + usd("0.00018"))
  })
})

describe("costOfUsage", () => {
  it("is usage times the catalog prices, exactly", () => {
    expect(costOfUsage(cheap, { promptTokens: 9, completionTokens: 20 })).toBe(usd("0.0000345"))
    expect(costOfUsage(dear, { promptTokens: 1_000_000, completionTokens: 1_000_000 })).toBe(usd("90"))
  })

  it("prices cache reads and cache writes apart from the rest of the prompt", () => {
    // 2,000 uncached × 0.25 + 6,000 cached × 0.03 + 2,000 written × 0.30 + 1,000 output × 1.25, per million.
    const usage = { promptTokens: 10_000, cachedTokens: 6_000, cacheWriteTokens: 2_000, completionTokens: 1_000 }
    expect(costOfUsage(cached, usage)).toBe(usd("0.00253"))
    // Without a cache price the catalog defaults to the input price: the same as no cache at all.
    expect(costOfUsage(cheap, usage)).toBe(costOfUsage(cheap, { promptTokens: 10_000, completionTokens: 1_000 }))
  })

  it("rounds each part up to the nano-dollar, never down", () => {
    const tiny = testModel("tiny", { input: "0.000000001", cachedInput: "0.000000001", output: "0.000000003" })
    expect(costOfUsage(tiny, { promptTokens: 1, completionTokens: 1 })).toBe(2n)
    expect(costOfUsage(tiny, { promptTokens: 2, cachedTokens: 1, completionTokens: 0 })).toBe(2n)
    expect(costOfUsage(tiny, { promptTokens: 0, completionTokens: 0 })).toBe(0n)
  })

  it("never counts a cached or written token twice, however the parts were reported", () => {
    const inconsistent = { promptTokens: 100, cachedTokens: 80, cacheWriteTokens: 80, completionTokens: 0 }
    // 80 cached, the remaining 20 as writes, none uncached.
    expect(costOfUsage(cached, inconsistent)).toBe(Money.costOf(80, usd("0.03")) + Money.costOf(20, usd("0.3")))
  })
})

describe("tokenCount", () => {
  it("makes any reported count one the ledger can hold", () => {
    expect(
      [-1000, 10.5, Number.NaN, Number.POSITIVE_INFINITY, undefined, 2 ** 60, 3_000_000_000].map(tokenCount)
    ).toEqual([0, 10, 0, 0, 0, Number.MAX_SAFE_INTEGER, 3_000_000_000])
  })
})

const completion = (
  message: ChatCompletion["choices"][number]["message"],
  usage?: ChatCompletion["usage"]
): ChatCompletion => ({
  id: "c",
  object: "chat.completion",
  created: 0,
  model: "cheap",
  choices: [{ index: 0, message, finish_reason: "stop" }],
  ...(usage === undefined ? {} : { usage })
})

describe("outcomeOfCompletion", () => {
  it("charges the provider's usage, its cache and reasoning details, at the answering model's prices", () => {
    const outcome = outcomeOfCompletion(
      request,
      completion(
        { role: "assistant", content: "Hi" },
        {
          prompt_tokens: 12,
          completion_tokens: 5,
          total_tokens: 17,
          prompt_tokens_details: { cached_tokens: 8, cache_write_tokens: 2 },
          completion_tokens_details: { reasoning_tokens: 3 }
        }
      ),
      cached
    )
    expect(outcome).toEqual({
      _tag: "Charge",
      model: cached,
      promptTokens: 12,
      cachedTokens: 8,
      cacheWriteTokens: 2,
      completionTokens: 5,
      reasoningTokens: 3,
      source: "provider"
    })
    if (outcome._tag !== "Charge") throw new Error("expected a charge")
    expect(chargeOf(outcome)).toMatchObject({
      model: "cached",
      cost: costOfUsage(cached, outcome),
      prices: { input: usd("0.25"), cachedInput: usd("0.03"), cacheWrite: usd("0.3"), output: usd("1.25") }
    })
  })

  it("counts with the tokenizer, and says so, when the provider reported no usage", () => {
    expect(
      outcomeOfCompletion(request, completion({ role: "assistant", content: "Hello there, friend" }), cheap)
    ).toEqual({
      _tag: "Charge",
      model: cheap,
      promptTokens: countPromptTokens(request, cheap),
      cachedTokens: 0,
      cacheWriteTokens: 0,
      completionTokens: countTextTokens("Hello there, friend", cheap),
      reasoningTokens: 0,
      source: "tokenizer"
    })
  })

  it("counts an answer that is only a tool call (its name and arguments), never as 0 tokens", () => {
    const call = {
      id: "call_1",
      type: "function" as const,
      function: { name: "get_weather", arguments: '{"city":"Paris"}' }
    }
    const outcome = outcomeOfCompletion(
      request,
      completion({ role: "assistant", content: null, tool_calls: [call] }),
      cheap
    )
    expect(outcome).toMatchObject({
      source: "tokenizer",
      completionTokens: countTextTokens('get_weather{"city":"Paris"}', cheap)
    })
    expect(outcome._tag === "Charge" && outcome.completionTokens).toBeGreaterThan(0)
  })

  it("keeps counts the ledger can hold when the provider reports nonsense", () => {
    const outcome = outcomeOfCompletion(
      request,
      completion(
        { role: "assistant", content: "x" },
        { prompt_tokens: -1000, completion_tokens: 3_000_000_000, total_tokens: 0 }
      ),
      cheap
    )
    expect(outcome).toMatchObject({ promptTokens: 0, completionTokens: 3_000_000_000 })
  })
})

describe("partialCharge", () => {
  it("counts the prompt with the tokenizer while the provider has reported none of it yet", () => {
    const usage = { prompt_tokens: 0, completion_tokens: 2, total_tokens: 2 }
    expect(partialCharge(request, cheap, usage, 5)).toMatchObject({
      source: "partial",
      promptTokens: countPromptTokens(request, cheap),
      completionTokens: 5
    })
    const reported = { prompt_tokens: 7, completion_tokens: 9, total_tokens: 16 }
    expect(partialCharge(request, cheap, reported, 5)).toMatchObject({ promptTokens: 7, completionTokens: 9 })
  })
})
