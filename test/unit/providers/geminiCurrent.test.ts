/**
 * Current Gemini answers (2.5, 3) → OpenAI shapes, over recorded-style fixtures: thought summaries
 * as reasoning_content, thought signatures and Gemini's own call ids inside the tool-call ids, and
 * the finishes that mean no usable answer as upstream errors.
 */
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { candidateFailure } from "../../../src/providers/gemini/candidate.ts"
import { decodeToolCallId, encodeToolCallId } from "../../../src/providers/gemini/toolCallIds.ts"
import { streamOpened, streamTranslator, toChatCompletion } from "../../../src/providers/gemini/translateResponse.ts"
import { GenerateContentResponse } from "../../../src/providers/gemini/wire.ts"
import { translateAll } from "../../../src/providers/StreamTranslator.ts"
import { jsonFixture, sseFixture } from "../../support/fixtures.ts"
import { failure, success } from "../../support/result.ts"
import { sequence } from "./translated.ts"

const decode = Schema.decodeUnknownSync(GenerateContentResponse)
const context = { id: "chatcmpl-g3", created: 1764000000, model: "gemini-3-flash-preview" }
const signature = "CiQBcsjafK8+1x/ZHrZxR9Q0T0Sx2vYd3kqW8pC5wYF0oZp1Sm4KYgFyyNp8n0H2Q=="

describe("Gemini 3 answers → OpenAI shapes", () => {
  it("parallel calls keep Gemini's ids; only the first carries the signature; the thought summary is reasoning_content", () => {
    const completion = success(toChatCompletion(decode(jsonFixture("gemini/gemini3-function-calls.json")), context))
    const message = completion.choices[0]!.message
    expect(message.reasoning_content).toBe(
      "**Checking the weather**\n\nThe user wants the weather in two cities, so I will call the tool for each."
    )
    expect(message.content).toBeNull()
    expect(message.tool_calls?.map((call) => call.id)).toEqual([`fc_7f3a__thought__${signature}`, "fc_9b21"])
    expect(message.tool_calls?.map((call) => call.function.arguments)).toEqual(['{"city":"Paris"}', '{"city":"Oslo"}'])
    expect(completion.choices[0]!.finish_reason).toBe("tool_calls")
    expect(completion.usage).toMatchObject({
      completion_tokens: 128,
      completion_tokens_details: { reasoning_tokens: 92 }
    })
  })

  it("streams the thought summary as reasoning_content, then the signed call", () => {
    const events = sseFixture("gemini/stream-gemini3-function-call.sse").map((event) => event.data)
    const chunks = success(translateAll(streamTranslator(context, 1), [streamOpened, ...events]))
    const deltas = sequence(chunks).filter((delta) => delta !== undefined && !("usage" in delta))
    expect(deltas[1]).toEqual({ reasoning_content: "**Looking up the weather**\n\nOne call will do." })
    expect(deltas[2]).toEqual({
      tool_calls: [
        {
          index: 0,
          id: "call_g3_0_0__thought__CiQBcsjafK8+1x/ZHrZxR9Q0T0Sx2vYd3kqW8pC5wYF0oZp1Sm4=",
          type: "function",
          function: { name: "get_weather", arguments: '{"city":"Paris"}' }
        }
      ]
    })
  })

  it("MALFORMED_FUNCTION_CALL and its kind are an upstream error naming the reason, not an empty stop", () => {
    const malformed = decode(jsonFixture("gemini/malformed-function-call.json"))
    expect(failure(toChatCompletion(malformed, context))).toMatchObject({
      _tag: "Protocol",
      message: expect.stringContaining("MALFORMED_FUNCTION_CALL: Malformed function call: print(")
    })
    const event = JSON.stringify(malformed)
    expect(failure(translateAll(streamTranslator(context, 1), [streamOpened, event]))).toMatchObject({
      _tag: "Protocol"
    })
    for (const reason of ["UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS", "MISSING_THOUGHT_SIGNATURE"]) {
      expect(candidateFailure({ finishReason: reason })).toMatchObject({ _tag: "Protocol" })
    }
    expect(candidateFailure({ finishReason: "STOP" })).toBeUndefined()
  })
})

describe("tool-call ids", () => {
  it("carry a signature after the marker and give back Gemini's own ids, never the gateway's", () => {
    expect(decodeToolCallId(encodeToolCallId("fc_1", "a+b/c="))).toEqual({
      base: "fc_1",
      signature: "a+b/c=",
      geminiId: "fc_1"
    })
    expect(decodeToolCallId("call_abc_0_1__thought__c2ln")).toEqual({
      base: "call_abc_0_1",
      signature: "c2ln",
      geminiId: undefined
    })
    expect(decodeToolCallId("call_Xy12")).toEqual({ base: "call_Xy12", signature: undefined, geminiId: undefined })
    expect(encodeToolCallId("call_1", undefined)).toBe("call_1")
  })
})
