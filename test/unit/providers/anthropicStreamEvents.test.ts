/**
 * Anthropic stream events the recorded fixtures do not show, one by one: blocks that start with
 * their text or thinking already in them, a thinking delta for another block, a signature, a
 * redacted block, a tool called without arguments, a stream that stops without a message_delta.
 * Compared exactly, as a client would receive them.
 */
import { describe, expect, it } from "vitest"
import { streamTranslator } from "../../../src/providers/anthropic/translateResponse.ts"
import { translateAll } from "../../../src/providers/StreamTranslator.ts"
import { success } from "../../support/result.ts"

const block = (index: number, type: string, body: Record<string, unknown>) => ({ type, index, ...body })
const messageStart = {
  type: "message_start",
  message: {
    id: "msg_1",
    type: "message",
    role: "assistant",
    content: [],
    model: "claude-x",
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 10, output_tokens: 1 }
  }
}
const usage = (completion: number) => ({
  prompt_tokens: 10,
  completion_tokens: completion,
  total_tokens: 10 + completion,
  prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 }
})

/** What a client receives: each chunk's delta and finish reason, or its usage. */
const received = (events: ReadonlyArray<unknown>) =>
  success(translateAll(streamTranslator({ id: "chatcmpl-x", created: 1, model: "claude-3" }), events)).map((chunk) =>
    chunk.choices.length === 0
      ? { usage: chunk.usage }
      : { delta: chunk.choices[0]!.delta, finish: chunk.choices[0]!.finish_reason }
  )

describe("Anthropic stream events → chunks", () => {
  it("blocks that start with content, thinking with its signature, redacted thinking, a tool without arguments", () => {
    expect(
      received([
        messageStart,
        block(0, "content_block_start", { content_block: { type: "thinking", thinking: "Let me" } }),
        block(0, "content_block_delta", { delta: { type: "thinking_delta", thinking: " think." } }),
        block(5, "content_block_delta", { delta: { type: "thinking_delta", thinking: "not a thinking block" } }),
        block(0, "content_block_delta", { delta: { type: "signature_delta", signature: "sig" } }),
        block(0, "content_block_stop", {}),
        block(1, "content_block_start", { content_block: { type: "redacted_thinking", data: "abc" } }),
        block(2, "content_block_start", { content_block: { type: "text", text: "Hello" } }),
        block(2, "content_block_delta", { delta: { type: "text_delta", text: " world" } }),
        block(2, "content_block_stop", {}),
        block(3, "content_block_start", { content_block: { type: "tool_use", id: "toolu_1", name: "now", input: {} } }),
        block(3, "content_block_stop", {}),
        {
          type: "message_delta",
          delta: { stop_reason: "tool_use", stop_sequence: null },
          usage: { output_tokens: 20 }
        },
        { type: "message_stop" }
      ])
    ).toEqual([
      { delta: { role: "assistant", content: "" }, finish: null },
      { usage: usage(1) },
      { delta: { reasoning_content: "Let me" }, finish: null },
      { delta: { reasoning_content: " think." }, finish: null },
      // The whole block, for the client to send back on the next turn of a tool loop.
      { delta: { thinking_blocks: [{ type: "thinking", thinking: "Let me think.", signature: "sig" }] }, finish: null },
      { delta: { thinking_blocks: [{ type: "redacted_thinking", data: "abc" }] }, finish: null },
      { delta: { content: "Hello" }, finish: null },
      { delta: { content: " world" }, finish: null },
      {
        delta: {
          tool_calls: [{ index: 0, id: "toolu_1", type: "function", function: { name: "now", arguments: "" } }]
        },
        finish: null
      },
      // Anthropic streams no input for a tool called without arguments: the arguments are "{}".
      { delta: { tool_calls: [{ index: 0, function: { arguments: "{}" } }] }, finish: null },
      { delta: {}, finish: "tool_calls" },
      { usage: usage(20) }
    ])
  })

  it("a stream that stops without a message_delta finishes with stop, and its usage comes last", () => {
    expect(
      received([
        messageStart,
        block(0, "content_block_start", { content_block: { type: "text", text: "" } }),
        block(0, "content_block_delta", { delta: { type: "text_delta", text: "Hi" } }),
        block(0, "content_block_stop", {}),
        { type: "message_stop" }
      ])
    ).toEqual([
      { delta: { role: "assistant", content: "" }, finish: null },
      { usage: usage(1) },
      { delta: { content: "Hi" }, finish: null },
      { delta: {}, finish: "stop" },
      { usage: usage(1) }
    ])
  })
})
