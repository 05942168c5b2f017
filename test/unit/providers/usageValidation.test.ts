/**
 * Usage that cannot be billed — a count that is fractional, negative or beyond 2³¹ − 1, a
 * detail above its total — and answers that cannot be decoded are Protocol failures (never
 * retried), carrying what could be read of the answer for the tokenizer estimate.
 */
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import {
  streamTranslator as anthropicStream,
  toChatCompletion as anthropicCompletion
} from "../../../src/providers/anthropic/translateResponse.ts"
import { Message } from "../../../src/providers/anthropic/wire.ts"
import {
  streamOpened,
  streamTranslator as geminiStream,
  toChatCompletion as geminiCompletion
} from "../../../src/providers/gemini/translateResponse.ts"
import { GenerateContentResponse } from "../../../src/providers/gemini/wire.ts"
import {
  streamTranslator as openaiStream,
  toChatCompletion as openaiCompletion
} from "../../../src/providers/openai/translate.ts"
import { maxTokenCount } from "../../../src/providers/usage.ts"
import { jsonFixture, sseFixture } from "../../support/fixtures.ts"
import { failure } from "../../support/result.ts"
import { translated } from "./translated.ts"

const context = { id: "chatcmpl-v1", created: 1717000000, model: "public-model" }
const absurd = [10.5, -1000, maxTokenCount + 1, 1e400] as const
const jsonEvents = (path: string) =>
  sseFixture(path)
    .map((event) => event.data)
    .filter((data) => data !== "[DONE]")
    .map((data) => JSON.parse(data) as Record<string, unknown>)

/** A recorded answer, to edit: only its usage is touched. */
const editable = <Usage>(path: string) => jsonFixture(path) as { usage: Usage; usageMetadata: Usage }

describe("OpenAI usage checks", () => {
  const recorded = () =>
    editable<{
      prompt_tokens: unknown
      completion_tokens: number
      prompt_tokens_details: { cached_tokens: number }
      completion_tokens_details: { reasoning_tokens: number }
    }>("openai/completion.json")

  it.each(absurd)("prompt_tokens %d is Protocol, naming the field and keeping the answer's text", (value) => {
    const raw = recorded()
    raw.usage.prompt_tokens = value
    expect(failure(openaiCompletion(raw, "gpt-4"))).toMatchObject({
      _tag: "Protocol",
      message: `OpenAI reported usage that cannot be billed: prompt_tokens is ${value}`,
      completionText: "Hello!"
    })
  })

  it("a detail above its total is Protocol", () => {
    const cached = recorded()
    cached.usage.prompt_tokens_details.cached_tokens = 10
    expect(failure(openaiCompletion(cached, "gpt-4")).message).toContain("exceed prompt_tokens (9)")
    const reasoning = recorded()
    reasoning.usage.completion_tokens_details.reasoning_tokens = 4
    expect(failure(openaiCompletion(reasoning, "gpt-4")).message).toContain("exceed completion_tokens (3)")
  })

  it("a usage that is not even numbers cannot be decoded: Protocol too, not Transport", () => {
    const raw = recorded()
    raw.usage.prompt_tokens = "9"
    expect(failure(openaiCompletion(raw, "gpt-4"))).toMatchObject({ _tag: "Protocol" })
  })

  it("a stream's bad usage chunk fails it after the chunks before it; a bad usage on a content chunk keeps its text", () => {
    const events = jsonEvents("openai/stream-tool-call.sse")
    const last = events.at(-1)!
    const bad = [...events.slice(0, -1), { ...last, usage: { ...(last.usage as object), completion_tokens: -2 } }]
    const cut = translated(openaiStream("gpt-4", 1), bad)
    expect(cut.failure).toMatchObject({ _tag: "Protocol", message: expect.stringContaining("completion_tokens is -2") })
    expect(cut.chunks).toHaveLength(events.length - 1)
    const onContent = [
      events[0]!,
      { ...events[1]!, usage: { prompt_tokens: 1.5, completion_tokens: 1, total_tokens: 2 } }
    ]
    expect(translated(openaiStream("gpt-4", 1), onContent).failure).toMatchObject({
      _tag: "Protocol",
      completionText: "Hel"
    })
  })
})

describe("Anthropic usage checks", () => {
  const recorded = () => editable<Record<string, number>>("anthropic/message-tool-use.json")
  const complete = (raw: unknown) =>
    anthropicCompletion(Schema.decodeUnknownSync(Message)(raw), { created: 1, model: "claude-3" })

  it.each(["input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"])(
    "%s out of range is Protocol, with the text and tool call read",
    (field) => {
      for (const value of absurd) {
        const raw = recorded()
        raw.usage[field] = value
        expect(failure(complete(raw))).toMatchObject({
          _tag: "Protocol",
          message: `Anthropic reported usage that cannot be billed: ${field} is ${value}`,
          completionText: 'Let me check.get_weather{"city":"Paris"}'
        })
      }
    }
  )

  it("counts each in range but summing beyond 2³¹ − 1 is Protocol", () => {
    const raw = recorded()
    raw.usage.input_tokens = maxTokenCount
    raw.usage.cache_read_input_tokens = 1
    expect(failure(complete(raw)).message).toContain(`prompt_tokens is ${maxTokenCount + 1}`)
  })

  it("a message_start with a negative count fails the stream before its first chunk", () => {
    const events = jsonEvents("anthropic/stream-cache.sse")
    const start = events[0] as { message: { usage: object } }
    const bad = { ...start, message: { ...start.message, usage: { ...start.message.usage, input_tokens: -1000 } } }
    const result = translated(anthropicStream(context), [bad, ...events.slice(1)])
    expect(result.chunks).toEqual([])
    expect(result.failure).toMatchObject({
      _tag: "Protocol",
      message: expect.stringContaining("input_tokens is -1000")
    })
  })
})

describe("Gemini usage checks", () => {
  const decode = Schema.decodeUnknownSync(GenerateContentResponse)
  const recorded = () => editable<Record<string, number>>("gemini/response.json")

  it.each(absurd)("promptTokenCount %d is Protocol with the candidates' text", (value) => {
    const raw = recorded()
    raw.usageMetadata.promptTokenCount = value
    expect(failure(geminiCompletion(decode(raw), context))).toMatchObject({
      _tag: "Protocol",
      message: `Gemini reported usage that cannot be billed: promptTokenCount is ${value}`,
      completionText: "Hello!"
    })
  })

  it("more cached tokens than prompt tokens is Protocol", () => {
    const raw = recorded()
    raw.usageMetadata.cachedContentTokenCount = 10
    expect(failure(geminiCompletion(decode(raw), context)).message).toContain("exceed prompt_tokens (9)")
  })

  it("an answer without candidates or a block reason, or an event that is not JSON, is Protocol", () => {
    expect(failure(geminiCompletion(decode({ usageMetadata: { promptTokenCount: 3 } }), context))).toMatchObject({
      _tag: "Protocol"
    })
    expect(translated(geminiStream(context, 1), [streamOpened, "{not json"]).failure).toMatchObject({
      _tag: "Protocol",
      message: "Gemini sent a stream event that is not JSON"
    })
  })

  it("a streamed event with a bad running total fails with that event's text, after the chunks before it", () => {
    const events = sseFixture("gemini/stream.sse").map((event) => event.data)
    const second = JSON.parse(events[1]!)
    second.usageMetadata.candidatesTokenCount = 2.5
    const result = translated(geminiStream(context, 1), [streamOpened, events[0]!, JSON.stringify(second)])
    expect(result.failure).toMatchObject({ _tag: "Protocol", completionText: "lo!" })
    expect(result.chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "usage")).toEqual(["", "Hel", "usage"])
  })
})
