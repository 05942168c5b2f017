import { Result } from "effect"
import { describe, expect, it } from "vitest"
import type { CatalogModel } from "../../src/domain/Catalog.ts"
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "../../src/domain/Chat.ts"
import * as Money from "../../src/domain/Money.ts"
import { countPromptTokens, countTextTokens, promptUpperBound } from "../../src/domain/Tokens.ts"
import {
  costOfUsage,
  minimumCost,
  outcomeOfCompletion,
  reservationFor,
  StreamMeter
} from "../../src/services/billing/Metering.ts"

const usd = (text: string) => Money.parse(text)!

const model = (id: string, input: string, output: string): CatalogModel => ({
  id,
  provider: "simulator",
  upstreamModel: id,
  ownedBy: "test",
  inputPricePerMillion: usd(input),
  outputPricePerMillion: usd(output),
  maxOutputTokens: 4096,
  contextWindow: 100_000,
  fallbacks: [],
  created: 0
})

const cheap = model("cheap", "0.5", "1.5")
const dear = model("dear", "30", "60")
const request: ChatCompletionRequest = { model: "cheap", messages: [{ role: "user", content: "Привет, как дела?" }] }

describe("reservationFor", () => {
  it("prices the prompt's upper bound and the completion at the model's prices", () => {
    const reservation = Result.getOrThrow(
      reservationFor({
        userId: "u",
        requestId: "r",
        request,
        model: cheap,
        candidates: [],
        maxTokens: 100
      })
    )
    expect(reservation.promptTokens).toBe(Result.getOrThrow(promptUpperBound(request, [cheap])))
    expect(reservation.promptCost).toBe(Money.costOf(Result.getOrThrow(promptUpperBound(request, [cheap])), usd("0.5")))
    expect(reservation.outputPricePerMillion).toBe(usd("1.5"))
    expect(reservation.choices).toBe(1)
  })

  it("covers the most expensive model that may answer (fallbacks run under the same hold)", () => {
    const reservation = Result.getOrThrow(
      reservationFor({
        userId: "u",
        requestId: "r",
        request,
        model: cheap,
        candidates: [dear],
        maxTokens: 100
      })
    )
    expect(reservation.promptCost).toBe(Money.costOf(Result.getOrThrow(promptUpperBound(request, [cheap])), usd("30")))
    expect(reservation.outputPricePerMillion).toBe(usd("60"))
  })

  it("needs at least the prompt and one token per choice", () => {
    const reservation = Result.getOrThrow(
      reservationFor({
        userId: "u",
        requestId: "r",
        request: { ...request, n: 3 },
        model: dear,
        candidates: [],
        maxTokens: 100
      })
    )
    expect(reservation.choices).toBe(3)
    expect(minimumCost(reservation)).toBe(reservation.promptCost + usd("0.00018"))
  })
})

describe("costOfUsage", () => {
  it("is usage times the catalog prices, exactly", () => {
    expect(costOfUsage(cheap, { promptTokens: 9, completionTokens: 20 })).toBe(usd("0.0000345"))
    expect(costOfUsage(dear, { promptTokens: 1_000_000, completionTokens: 1_000_000 })).toBe(usd("90"))
  })

  it("rounds each part up to the nano-dollar, never down", () => {
    const tiny = model("tiny", "0.000000001", "0.000000003")
    expect(costOfUsage(tiny, { promptTokens: 1, completionTokens: 1 })).toBe(2n)
    expect(costOfUsage(tiny, { promptTokens: 0, completionTokens: 0 })).toBe(0n)
  })
})

const completion = (usage?: ChatCompletion["usage"]): ChatCompletion => ({
  id: "c",
  object: "chat.completion",
  created: 0,
  model: "cheap",
  choices: [{ index: 0, message: { role: "assistant", content: "Hello there, friend" }, finish_reason: "stop" }],
  ...(usage === undefined ? {} : { usage })
})

describe("outcomeOfCompletion", () => {
  it("charges the provider's usage at the answering model's prices", () => {
    const outcome = outcomeOfCompletion(
      request,
      completion({ prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 }),
      dear
    )
    expect(outcome).toEqual({ _tag: "Charge", model: dear, promptTokens: 12, completionTokens: 5, source: "provider" })
  })

  it("estimates, and says so, when the provider reported no usage", () => {
    const outcome = outcomeOfCompletion(request, completion(), cheap)
    expect(outcome).toEqual({
      _tag: "Charge",
      model: cheap,
      promptTokens: countPromptTokens(request, cheap),
      completionTokens: countTextTokens("Hello there, friend", cheap),
      source: "estimated"
    })
  })
})

const chunk = (
  delta: ChatCompletionChunk["choices"][number]["delta"],
  extra: Partial<ChatCompletionChunk> = {}
): ChatCompletionChunk => ({
  id: "c",
  object: "chat.completion.chunk",
  created: 0,
  model: "dear",
  choices: [{ index: 0, delta, finish_reason: null }],
  ...extra
})

describe("StreamMeter", () => {
  it("releases when nothing came from upstream", () => {
    expect(new StreamMeter().outcome(request, cheap)).toEqual({ _tag: "Release" })
  })

  it("charges the final usage when it arrived", () => {
    const meter = new StreamMeter()
    meter.observe(chunk({ role: "assistant", content: "" }))
    meter.observe(chunk({ content: "Hi" }))
    meter.observe({ ...chunk({}), choices: [], usage: { prompt_tokens: 7, completion_tokens: 1, total_tokens: 8 } })
    expect(meter.outcome(request, dear)).toEqual({
      _tag: "Charge",
      model: dear,
      promptTokens: 7,
      completionTokens: 1,
      source: "provider"
    })
  })

  it("estimates a cut stream: the prompt plus at least one token per piece streamed", () => {
    const meter = new StreamMeter()
    meter.observe(chunk({ role: "assistant", content: "" }))
    for (const piece of ["Я", " ", "к", "о", "т"]) meter.observe(chunk({ content: piece }))
    meter.observe(chunk({ tool_calls: [{ index: 0, function: { arguments: "{}" } }] }))
    expect(meter.outcome(request, cheap)).toEqual({
      _tag: "Charge",
      model: cheap,
      promptTokens: countPromptTokens(request, cheap),
      completionTokens: 6,
      source: "estimated"
    })
  })

  it("charges the prompt of a stream cut before any text", () => {
    const meter = new StreamMeter()
    meter.observe(chunk({ role: "assistant", content: "" }))
    expect(meter.outcome(request, cheap)).toMatchObject({
      promptTokens: countPromptTokens(request, cheap),
      completionTokens: 0
    })
  })

  it("estimates long pieces by their text (about four characters a token)", () => {
    const meter = new StreamMeter()
    meter.observe(chunk({ content: "x".repeat(400) }))
    expect(meter.outcome(request, cheap)).toMatchObject({ completionTokens: 100, source: "estimated" })
  })
})
