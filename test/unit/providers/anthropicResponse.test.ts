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

describe("current Claude answers → OpenAI shapes", () => {
  const context = { id: "chatcmpl-x", created: 1717000000, model: "claude-sonnet-4-5" }
  const decode = Schema.decodeUnknownSync(Message)

  it("returns thinking as reasoning_content and the blocks (signatures, redacted data) as thinking_blocks", () => {
    const completion = success(
      toChatCompletion(decode(jsonFixture("anthropic/message-thinking-tool-use.json")), context)
    )
    const message = completion.choices[0]?.message
    expect(message?.reasoning_content).toBe(
      "The user wants the weather in Paris. I should call get_weather with city Paris."
    )
    expect(message?.thinking_blocks).toEqual([
      {
        type: "thinking",
        thinking: "The user wants the weather in Paris. I should call get_weather with city Paris.",
        signature:
          "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds8/rYTXnXxVAKsH6Ubmq+ICT3Dk8dd1VIfzJYb8ZHqWPsXxlNQtt3CWtEAQT"
      },
      {
        type: "redacted_thinking",
        data: "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj"
      }
    ])
    expect(message?.content).toBeNull()
    expect(message?.tool_calls).toHaveLength(1)
    expect(completion.choices[0]?.finish_reason).toBe("tool_calls")
  })

  it("maps a refusal to content_filter, and a full context window to length", () => {
    const refusal = success(toChatCompletion(decode(jsonFixture("anthropic/message-refusal.json")), context))
    expect(refusal.choices[0]).toMatchObject({
      finish_reason: "content_filter",
      message: { content: "I can't help with" }
    })
    expect(finishReason("model_context_window_exceeded")).toBe("length")
  })

  const events = (path: string) => sseFixture(path).map((event) => JSON.parse(event.data))

  it("streams thinking text as reasoning_content, then each block whole with its signature, before the tool call", () => {
    const chunks = success(translateAll(streamTranslator(context), events("anthropic/stream-thinking-tool-use.sse")))
    const deltas = chunks.filter((chunk) => chunk.choices.length > 0).map((chunk) => chunk.choices[0]?.delta)
    expect(deltas.slice(1, 5)).toEqual([
      { reasoning_content: "The user wants the weather. " },
      { reasoning_content: "I will call get_weather." },
      {
        thinking_blocks: [
          {
            type: "thinking",
            thinking: "The user wants the weather. I will call get_weather.",
            signature: "EqQBCgIYAhIMstreamsig"
          }
        ]
      },
      { thinking_blocks: [{ type: "redacted_thinking", data: "EmwKAhgBEgyredacted" }] }
    ])
    expect(deltas[5]).toEqual({
      tool_calls: [
        { index: 0, id: "toolu_01ThinkS", type: "function", function: { name: "get_weather", arguments: "" } }
      ]
    })
  })

  it("gives a tool called without arguments the arguments {} when streamed, as the whole answer has", () => {
    const chunks = success(translateAll(streamTranslator(context), events("anthropic/stream-no-arg-tool.sse")))
    const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? [])
    expect(calls.map((call) => call.function?.arguments ?? "").join("")).toBe("{}")
    expect(calls[0]).toMatchObject({ id: "toolu_01Now", function: { name: "current_time" } })
  })
})
