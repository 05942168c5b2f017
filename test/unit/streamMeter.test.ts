/**
 * What a stream is charged, for each way it can end, with the chunk shapes of each provider
 * (the policy table of docs/billing.md, stream rows).
 */
import { describe, expect, it } from "vitest"
import type { ChatCompletionChunk, ChatCompletionRequest } from "../../src/domain/Chat.ts"
import {
  OverloadedReason,
  ProtocolReason,
  ProviderError,
  type ProviderErrorReason,
  TimeoutReason
} from "../../src/domain/ProviderError.ts"
import { countPromptTokens, countTextTokens } from "../../src/domain/Tokens.ts"
import { StreamMeter } from "../../src/services/billing/StreamMeter.ts"
import { testModel } from "../support/billingModels.ts"
import { chunksBeforeText, providerStream, vendors } from "../support/scriptedStreams.ts"

const model = testModel("m", { input: "0.25", cachedInput: "0.03", cacheWrite: "0.3", output: "1.25" })
const request: ChatCompletionRequest = { model: "m", messages: [{ role: "user", content: "Расскажи сказку" }] }
const pieces = ["Жили-были ", "дед ", "да ", "баба, ", "и была у них ", "курочка Ряба."]
const usage = { prompt: 1000, cached: 400, cacheWrite: 100, completion: 50, reasoning: 10 }

const failure = (reason: ProviderErrorReason) => new ProviderError({ provider: "scripted", model: "m", reason })
const overloaded = failure(new OverloadedReason({ message: "overloaded_error", status: 529 }))

/** A meter that has seen the first `count` chunks of the vendor's stream. */
const metered = (vendor: (typeof vendors)[number], count?: number) => {
  const meter = new StreamMeter(request)
  for (const chunk of providerStream(vendor, pieces, usage).slice(0, count)) meter.observe(chunk)
  return meter
}

/** The tokenizer's count of the first text chunks, piece by piece as they were streamed. */
const streamedTokens = (textChunks: number) =>
  pieces.slice(0, textChunks).reduce((sum, piece) => sum + countTextTokens(piece, model), 0)

describe.each(vendors)("a %s stream", (vendor) => {
  const textAt = chunksBeforeText(vendor)
  /** Chunks up to and including the `n`-th text chunk (Gemini follows each with a usage chunk). */
  const throughText = (n: number) => (vendor === "gemini" ? textAt + 2 * n : textAt + n)

  it("that completes is charged the provider's final usage, details included", () => {
    const meter = metered(vendor)
    meter.completed()
    expect(meter.outcome(model)).toEqual({
      _tag: "Charge",
      model,
      promptTokens: 1000,
      cachedTokens: 400,
      cacheWriteTokens: 100,
      completionTokens: 50,
      reasoningTokens: 10,
      source: "provider"
    })
  })

  // OpenAI reports usage only at the end, Gemini with each text chunk, Anthropic from its first chunks.
  const expectedCut = (textChunks: number) =>
    vendor === "openai" || (vendor === "gemini" && textChunks === 0)
      ? // No usage yet: the tokenizer counts the prompt and what was streamed.
        {
          source: "tokenizer",
          promptTokens: countPromptTokens(request, model),
          cachedTokens: 0,
          completionTokens: streamedTokens(textChunks)
        }
      : // The provider's prompt counts, and the larger of its completion count so far and the tokenizer's.
        {
          source: "partial",
          promptTokens: 1000,
          cachedTokens: 400,
          cacheWriteTokens: 100,
          completionTokens: Math.max(vendor === "anthropic" ? 1 : textChunks, streamedTokens(textChunks))
        }

  it("cut by the client mid-way is charged what was metered", () => {
    const meter = metered(vendor, throughText(3))
    expect(meter.outcome(model)).toMatchObject(expectedCut(3))
  })

  it("that the upstream fails after output began is charged what was metered", () => {
    const meter = metered(vendor, throughText(2))
    meter.failed(overloaded)
    expect(meter.outcome(model)).toMatchObject(expectedCut(2))
  })

  it("that times out after output began is charged what was metered", () => {
    const meter = metered(vendor, throughText(4))
    meter.failed(failure(new TimeoutReason({ message: "no chunk for 60 s" })))
    expect(meter.outcome(model)).toMatchObject(expectedCut(4))
  })

  it("that the upstream fails after only its first chunks (no output) is charged nothing", () => {
    const meter = metered(vendor, textAt)
    meter.failed(overloaded)
    expect(meter.outcome(model)).toEqual({ _tag: "Release" })
  })

  it("cut by the client before any output is charged the prompt (the provider processed it)", () => {
    const meter = metered(vendor, textAt)
    expect(meter.outcome(model)).toMatchObject(expectedCut(0))
  })

  it("that turns unreadable after its first chunks is charged what was metered (the upstream did the work)", () => {
    const meter = metered(vendor, textAt)
    meter.failed(failure(new ProtocolReason({ message: "undecodable event" })))
    expect(meter.outcome(model)).toMatchObject(expectedCut(0))
  })

  it("records on its hold, while it runs, what it has metered so far", () => {
    const meter = metered(vendor, throughText(5))
    expect(meter.sofar(model)).toMatchObject(expectedCut(5))
  })
})

describe("a stream without any chunk", () => {
  it("is charged nothing", () => {
    const meter = new StreamMeter(request)
    meter.failed(overloaded)
    expect(meter.outcome(model)).toEqual({ _tag: "Release" })
    expect(meter.sofar(model)).toEqual({ _tag: "Release" })
  })

  it("whose answer could not be understood is charged the tokenizer's count of the prompt and what was read", () => {
    const meter = new StreamMeter(request)
    meter.unreadable(model, new ProtocolReason({ message: "prompt_tokens: 10.5", completionText: "Once upon" }))
    expect(meter.outcome(model)).toMatchObject({
      source: "tokenizer",
      promptTokens: countPromptTokens(request, model),
      completionTokens: countTextTokens("Once upon", model)
    })
  })
})

describe("what a stream streamed", () => {
  const chunk = (delta: Record<string, unknown>): ChatCompletionChunk =>
    ({
      id: "c",
      object: "chat.completion.chunk",
      created: 0,
      model: "m",
      choices: [{ index: 0, delta, finish_reason: null }]
    }) as ChatCompletionChunk

  it("counts tool calls (names and arguments) and refusals, not only text", () => {
    const meter = new StreamMeter(request)
    meter.observe(chunk({ role: "assistant", content: null }))
    meter.observe(
      chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "get_weather" } }] })
    )
    meter.observe(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }))
    meter.observe(chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }))
    meter.observe(chunk({ refusal: "I cannot." }))
    const counted = ["get_weather", '{"city":', '"Paris"}', "I cannot."].reduce(
      (sum, piece) => sum + countTextTokens(piece, model),
      0
    )
    expect(meter.outcome(model)).toMatchObject({ source: "tokenizer", completionTokens: counted })
  })

  it("keeps the last usage reported: a later chunk without one does not erase it", () => {
    const meter = new StreamMeter(request)
    const reported = { prompt_tokens: 40, completion_tokens: 1, total_tokens: 41 }
    meter.observe({ ...chunk({ role: "assistant", content: "" }), usage: reported })
    meter.observe({ ...chunk({ content: "Hi" }), usage: null })
    meter.observe(chunk({ content: " there" }))
    expect(meter.sofar(model)).toMatchObject({ source: "partial", promptTokens: 40 })
  })
})

describe("the completion of a cut stream", () => {
  it("is at least the tokenizer's count of the text streamed, even when the provider's count lags", () => {
    // Anthropic reports one output token at message_start; 20,000 CJK characters streamed since are many more.
    const meter = new StreamMeter(request)
    const cjk = "漢".repeat(20_000)
    for (const chunk of providerStream("anthropic", [cjk], usage).slice(0, 3)) meter.observe(chunk)
    expect(meter.outcome(model)).toMatchObject({ source: "partial", completionTokens: countTextTokens(cjk, model) })
  })
})
