/**
 * Gemini answers → OpenAI shapes, pure, over recorded answers (whole and streamed), and
 * what Gemini's error bodies mean.
 */
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { geminiErrorReason } from "../../../src/providers/gemini/errors.ts"
import { finishReason } from "../../../src/providers/gemini/candidate.ts"
import {
  type StreamEvent,
  streamOpened,
  streamTranslator,
  toChatCompletion
} from "../../../src/providers/gemini/translateResponse.ts"
import { GenerateContentResponse } from "../../../src/providers/gemini/wire.ts"
import { translateAll } from "../../../src/providers/StreamTranslator.ts"
import { errorAnswer } from "../../support/errorAnswer.ts"
import { jsonFixture, sseFixture } from "../../support/fixtures.ts"
import { failure, success } from "../../support/result.ts"
import { sequence, translated, usages } from "./translated.ts"

const decode = Schema.decodeUnknownSync(GenerateContentResponse)
const context = { id: "chatcmpl-g1", created: 1717000000, model: "gemini-1.5-pro" }

describe("Gemini answers → OpenAI shapes", () => {
  it("turns a recorded response into a completion", () => {
    const completion = success(toChatCompletion(decode(jsonFixture("gemini/response.json")), context))
    expect(completion).toEqual({
      id: "chatcmpl-g1",
      object: "chat.completion",
      created: 1717000000,
      model: "gemini-1.5-pro",
      choices: [{ index: 0, message: { role: "assistant", content: "Hello!" }, finish_reason: "stop", logprobs: null }],
      usage: {
        prompt_tokens: 9,
        completion_tokens: 3,
        total_tokens: 12,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 }
      }
    })
  })

  it("a function call becomes tool_calls with a minted id and finish_reason tool_calls; thinking counts as completion", () => {
    const completion = success(toChatCompletion(decode(jsonFixture("gemini/function-call.json")), context))
    expect(completion.choices[0]).toEqual({
      index: 0,
      message: {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_g1_0_0", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }
        ]
      },
      finish_reason: "tool_calls",
      logprobs: null
    })
    expect(completion.usage).toMatchObject({ prompt_tokens: 30, completion_tokens: 17, total_tokens: 47 })
    expect(completion.usage?.completion_tokens_details).toEqual({ reasoning_tokens: 12 })
  })

  it("a blocked prompt is an empty answer finished by content_filter", () => {
    const completion = success(toChatCompletion(decode(jsonFixture("gemini/blocked-prompt.json")), context))
    expect(completion.choices).toEqual([
      { index: 0, message: { role: "assistant", content: null }, finish_reason: "content_filter", logprobs: null }
    ])
    expect(completion.usage?.prompt_tokens).toBe(8)
  })

  it.each([
    ["STOP", false, "stop"],
    ["STOP", true, "tool_calls"],
    ["MAX_TOKENS", false, "length"],
    ["SAFETY", false, "content_filter"],
    ["RECITATION", false, "content_filter"],
    ["PROHIBITED_CONTENT", false, "content_filter"],
    ["MALFORMED_FUNCTION_CALL", false, "stop"],
    ["OTHER", false, "stop"],
    [undefined, false, null]
  ] as const)("maps finishReason %s (tools called: %s) to %s", (reason, called, expected) => {
    expect(finishReason(reason, called)).toBe(expected)
  })

  const recorded = (): Array<StreamEvent> => [
    streamOpened,
    ...sseFixture("gemini/stream.sse").map((event) => event.data)
  ]

  it("streams the role at once, text increments, each new running usage total after its event (never a sum), usage last", () => {
    const chunks = success(translateAll(streamTranslator(context, 1), recorded()))
    const details = { prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } }
    expect(sequence(chunks)).toEqual([
      { role: "assistant", content: "" },
      { content: "Hel" },
      { usage: { prompt_tokens: 9, completion_tokens: 1, total_tokens: 10, ...details } },
      { content: "lo!" },
      {},
      { usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12, ...details } }
    ])
    expect(chunks[4]?.choices[0]?.finish_reason).toBe("stop")
    expect(chunks.every((chunk) => chunk.id === "chatcmpl-g1" && chunk.model === "gemini-1.5-pro")).toBe(true)
  })

  it("streams a whole function call as one tool-call delta with id, type, name and arguments", () => {
    const event = JSON.stringify(jsonFixture("gemini/function-call.json"))
    const chunks = success(translateAll(streamTranslator(context, 1), [streamOpened, event]))
    expect(chunks[1]?.choices[0]?.delta).toEqual({
      tool_calls: [
        {
          index: 0,
          id: "call_g1_0_0",
          type: "function",
          function: { name: "get_weather", arguments: '{"city":"Paris"}' }
        }
      ]
    })
    expect(chunks[2]?.choices[0]?.finish_reason).toBe("tool_calls")
  })

  it("a stream that closes before every candidate finished is a Transport failure, after the usage so far", () => {
    const cut = translated(streamTranslator(context, 1), recorded().slice(0, 2))
    expect(cut.failure).toMatchObject({ _tag: "Transport" })
    expect(usages(cut.chunks)).toEqual([expect.objectContaining({ prompt_tokens: 9, completion_tokens: 1 })])
    const oneOfTwo = recorded()
    expect(failure(translateAll(streamTranslator(context, 2), oneOfTwo))).toMatchObject({ _tag: "Transport" })
  })

  it("an error event in the stream fails with what its code means", () => {
    const error = JSON.stringify({
      error: { code: 429, message: "Resource has been exhausted", status: "RESOURCE_EXHAUSTED" }
    })
    const reason = failure(translateAll(streamTranslator(context, 1), [streamOpened, error]))
    expect(reason).toMatchObject({ _tag: "RateLimited", message: "Resource has been exhausted" })
  })
})

describe("Gemini errors", () => {
  it("an invalid key (HTTP 400 API_KEY_INVALID) is our credentials, not the caller's request", () => {
    const body = {
      error: {
        code: 400,
        message: "API key not valid. Please pass a valid API key.",
        status: "INVALID_ARGUMENT",
        details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID" }]
      }
    }
    expect(geminiErrorReason(errorAnswer(400, body), 0)).toMatchObject({ _tag: "Auth", status: 400 })
    expect(geminiErrorReason(errorAnswer(400, { error: { message: "bad field" } }), 0)).toMatchObject({
      _tag: "BadRequest",
      message: "bad field"
    })
  })

  it("a 429 takes its wait from Retry-After, else from RetryInfo", () => {
    const body = {
      error: {
        code: 429,
        message: "Quota",
        details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "17s" }]
      }
    }
    expect(geminiErrorReason(errorAnswer(429, body), 0)).toMatchObject({ _tag: "RateLimited", retryAfterSeconds: 17 })
    expect(geminiErrorReason(errorAnswer(429, body, { "retry-after": "3" }), 0)).toMatchObject({ retryAfterSeconds: 3 })
  })
})
