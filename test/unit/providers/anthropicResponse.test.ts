/**
 * Anthropic answers → OpenAI shapes, pure, over recorded answers (whole and streamed).
 */
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import {
  finishReason,
  streamTranslator,
  toChatCompletion,
  usageOf
} from "../../../src/providers/anthropic/translateResponse.ts"
import { Message } from "../../../src/providers/anthropic/wire.ts"
import { translateAll } from "../../../src/providers/StreamTranslator.ts"
import { jsonFixture, sseFixture } from "../../support/fixtures.ts"
import { failure, success } from "../../support/result.ts"
import { translated, usages } from "./translated.ts"

describe("Anthropic answers → OpenAI shapes", () => {
  it("turns a recorded message with text and tool use into a completion", () => {
    const message = Schema.decodeUnknownSync(Message)(jsonFixture("anthropic/message-tool-use.json"))
    expect(success(toChatCompletion(message, { created: 1717000000, model: "claude-3" }))).toEqual({
      id: "msg_01XFDUDYJgAACzvnptvVoYEL",
      object: "chat.completion",
      created: 1717000000,
      model: "claude-3",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: "Let me check.",
            tool_calls: [
              { id: "toolu_01A", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }
            ]
          },
          finish_reason: "tool_calls",
          logprobs: null
        }
      ],
      usage: {
        prompt_tokens: 412,
        completion_tokens: 57,
        total_tokens: 469,
        prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 }
      }
    })
  })

  it.each([
    ["end_turn", "stop"],
    ["stop_sequence", "stop"],
    ["max_tokens", "length"],
    ["tool_use", "tool_calls"],
    ["refusal", "content_filter"],
    ["pause_turn", "stop"],
    ["something_new", "stop"]
  ])("maps stop_reason %s to %s", (stop, finish) => {
    expect(finishReason(stop)).toBe(finish)
  })

  it("counts cache writes and reads as prompt tokens, and says which is which", () => {
    expect(
      success(
        usageOf({ input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 100, cache_read_input_tokens: 1000 })
      )
    ).toEqual({
      prompt_tokens: 1110,
      completion_tokens: 5,
      total_tokens: 1115,
      prompt_tokens_details: { cached_tokens: 1000, cache_write_tokens: 100 }
    })
  })

  const context = { id: "chatcmpl-x", created: 1717000000, model: "claude-3" }
  const recordedEvents = () => sseFixture("anthropic/stream-tool-use.sse").map((event) => JSON.parse(event.data))

  it("turns a recorded stream into OpenAI chunks: role and input usage first, tool calls by tool index, finish, then usage", () => {
    const chunks = success(translateAll(streamTranslator(context), recordedEvents()))
    expect(
      chunks.every((chunk) => chunk.id === "msg_1" && chunk.model === "claude-3" && chunk.created === 1717000000)
    ).toBe(true)
    const details = { cached_tokens: 0, cache_write_tokens: 0 }
    expect(chunks.map((chunk) => chunk.choices[0]?.delta ?? chunk.usage)).toEqual([
      { role: "assistant", content: "" },
      { prompt_tokens: 25, completion_tokens: 1, total_tokens: 26, prompt_tokens_details: details },
      { content: "Hello" },
      { content: "!" },
      {
        tool_calls: [{ index: 0, id: "toolu_01A", type: "function", function: { name: "get_weather", arguments: "" } }]
      },
      { tool_calls: [{ index: 0, function: { arguments: '{"city": "Par' } }] },
      { tool_calls: [{ index: 0, function: { arguments: 'is"}' } }] },
      {},
      { prompt_tokens: 25, completion_tokens: 42, total_tokens: 67, prompt_tokens_details: details }
    ])
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("tool_calls")
    expect(chunks.at(-1)?.choices).toEqual([])
  })

  it("a stream that ends before message_stop is a Transport failure (cut), after the input usage", () => {
    const cut = recordedEvents().slice(0, 5)
    expect(failure(translateAll(streamTranslator(context), cut))).toMatchObject({ _tag: "Transport" })
    const { chunks } = translated(streamTranslator(context), cut)
    expect(usages(chunks)).toEqual([expect.objectContaining({ prompt_tokens: 25, completion_tokens: 1 })])
  })

  it("tolerates unknown events and refuses malformed known ones as Protocol (never retried)", () => {
    const events = recordedEvents()
    const withUnknown = [events[0], { type: "future_event", x: 1 }, ...events.slice(1)]
    expect(success(translateAll(streamTranslator(context), withUnknown))).toHaveLength(9)
    const malformed = [events[0], { type: "content_block_delta", index: 0 }]
    expect(failure(translateAll(streamTranslator(context), malformed))).toMatchObject({ _tag: "Protocol" })
  })
})
