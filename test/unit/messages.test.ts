/**
 * The Messages API's translation, pure: Anthropic's request → the canonical chat request, and the canonical
 * answer and chunk stream → Anthropic's message and events.
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import type { ChatCompletion, ChatCompletionChunk, ChunkChoice, Usage } from "../../src/domain/Chat.ts"
import type { CreateMessageRequest, MessageStreamEvent } from "../../src/domain/Messages.ts"
import { toMessage } from "../../src/http/messages/fromChat.ts"
import { MessageEvents } from "../../src/http/messages/stream.ts"
import { fromCountTokens, fromCreateMessage } from "../../src/http/messages/toChat.ts"

const base: CreateMessageRequest = { model: "claude-3", max_tokens: 100, messages: [{ role: "user", content: "Hi" }] }

const translated = (request: Partial<CreateMessageRequest> & Record<string, unknown>) =>
  Result.getOrThrow(fromCreateMessage({ ...base, ...request } as CreateMessageRequest))

const refusal = (request: Partial<CreateMessageRequest> & Record<string, unknown>) => {
  const result = fromCreateMessage({ ...base, ...request } as CreateMessageRequest)
  if (Result.isSuccess(result)) throw new Error("expected a refusal")
  return { param: result.failure.param, message: result.failure.message }
}

describe("Anthropic request → chat request", () => {
  it("carries the system prompt, sampling, stops and the budget", () => {
    expect(
      translated({
        system: [
          { type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } },
          { type: "text", text: "Be kind." }
        ],
        temperature: 0.5,
        top_p: 0.9,
        stop_sequences: ["END"],
        stream: true
      })
    ).toEqual({
      model: "claude-3",
      max_tokens: 100,
      stream: true,
      temperature: 0.5,
      top_p: 0.9,
      stop: ["END"],
      messages: [
        {
          role: "system",
          content: [
            { type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } },
            { type: "text", text: "Be kind." }
          ]
        },
        { role: "user", content: "Hi" }
      ]
    })
  })

  it("splits tool results out of a user turn, first, and keeps the rest of the turn", () => {
    const { messages } = translated({
      messages: [
        { role: "user", content: "Weather?" },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "Let me look.", signature: "sig" },
            { type: "text", text: "Checking." },
            { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } }
          ]
        },
        {
          role: "user",
          content: [
            { type: "text", text: "Here:" },
            { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "21C" }], is_error: false },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } }
          ]
        }
      ]
    })
    expect(messages).toEqual([
      { role: "user", content: "Weather?" },
      {
        role: "assistant",
        content: "Checking.",
        tool_calls: [
          { id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }
        ],
        thinking_blocks: [{ type: "thinking", thinking: "Let me look.", signature: "sig" }]
      },
      { role: "tool", tool_call_id: "toolu_1", content: [{ type: "text", text: "21C" }] },
      {
        role: "user",
        content: [
          { type: "text", text: "Here:" },
          { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }
        ]
      }
    ])
  })

  it("keeps caching breakpoints on text, and moves a tool result's onto its last text", () => {
    const { messages } = translated({
      messages: [
        { role: "user", content: "Read it." },
        { role: "assistant", content: [{ type: "tool_use", id: "t", name: "read", input: {} }] },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "t", content: "file", cache_control: { type: "ephemeral" } },
            { type: "text", text: "Now fix it.", cache_control: { type: "ephemeral", ttl: "1h" } }
          ]
        },
        { role: "assistant", content: [{ type: "text", text: "Done.", cache_control: { type: "ephemeral" } }] }
      ]
    })
    expect(messages.slice(2)).toEqual([
      {
        role: "tool",
        tool_call_id: "t",
        content: [{ type: "text", text: "file", cache_control: { type: "ephemeral" } }]
      },
      {
        role: "user",
        content: [{ type: "text", text: "Now fix it.", cache_control: { type: "ephemeral", ttl: "1h" } }]
      },
      { role: "assistant", content: [{ type: "text", text: "Done.", cache_control: { type: "ephemeral" } }] }
    ])
  })

  it("leaves out thinking blocks without a signature (another vendor's reasoning), and passes redacted ones", () => {
    const { messages } = translated({
      messages: [
        { role: "user", content: "Q" },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "unsigned", signature: "" },
            { type: "redacted_thinking", data: "opaque" },
            { type: "text", text: "A" }
          ]
        },
        { role: "user", content: "Q2" }
      ]
    })
    expect(messages[1]).toEqual({
      role: "assistant",
      content: "A",
      thinking_blocks: [{ type: "redacted_thinking", data: "opaque" }]
    })
  })

  it("maps tools, tool choice and parallelism", () => {
    const request = translated({
      tools: [
        { name: "f", description: "d", input_schema: { type: "object" } },
        { name: "g", type: "custom" }
      ],
      tool_choice: { type: "tool", name: "f", disable_parallel_tool_use: true }
    })
    expect(request.tools).toEqual([
      { type: "function", function: { name: "f", description: "d", parameters: { type: "object" } } },
      { type: "function", function: { name: "g", parameters: { type: "object", properties: {} } } }
    ])
    expect(request.tool_choice).toEqual({ type: "function", function: { name: "f" } })
    expect(request.parallel_tool_calls).toBe(false)
    expect(translated({ tools: [{ name: "f" }], tool_choice: { type: "any" } }).tool_choice).toBe("required")
    expect(translated({ tools: [{ name: "f" }], tool_choice: { type: "none" } }).tool_choice).toBe("none")
  })

  it("turns thinking and effort into reasoning_effort, and a JSON schema output into response_format", () => {
    const effort = (request: Partial<CreateMessageRequest>) => translated(request).reasoning_effort
    expect(effort({ thinking: { type: "enabled", budget_tokens: 1024 } })).toBe("low")
    expect(effort({ thinking: { type: "enabled", budget_tokens: 8000 } })).toBe("medium")
    expect(effort({ thinking: { type: "enabled", budget_tokens: 32_000 } })).toBe("high")
    expect(effort({ thinking: { type: "disabled" } })).toBe("none")
    expect(effort({ thinking: { type: "adaptive" } })).toBeUndefined()
    expect(effort({ thinking: { type: "adaptive" }, output_config: { effort: "max" } })).toBe("xhigh")
    expect(
      translated({ output_config: { format: { type: "json_schema", schema: { type: "object" } } } }).response_format
    ).toEqual({ type: "json_schema", json_schema: { name: "output", schema: { type: "object" } } })
  })

  it("refuses what it cannot carry, naming the field", () => {
    expect(refusal({ top_k: 5 })).toMatchObject({ param: "top_k" })
    expect(refusal({ container: "c_1" })).toEqual({
      param: "container",
      message: "container: this field is not supported by the gateway (Extra inputs are not permitted)"
    })
    expect(refusal({ tools: [{ name: "web_search", type: "web_search_20250305" }] })).toMatchObject({
      param: "tools[0].type"
    })
    expect(
      refusal({
        messages: [
          {
            role: "user",
            content: [{ type: "document", source: { type: "url", url: "https://example.com/a.pdf" } }]
          }
        ]
      })
    ).toMatchObject({ param: "messages[0].content[0].source" })
    expect(
      refusal({
        messages: [{ role: "user", content: [{ type: "tool_use", id: "t", name: "f", input: {} }] }]
      })
    ).toMatchObject({ param: "messages[0].content[0].type" })
  })

  it("count_tokens takes the prompt fields only", () => {
    expect(Result.isSuccess(fromCountTokens({ model: "m", messages: [{ role: "user", content: "Hi" }] }))).toBe(true)
    const withBudget = fromCountTokens({
      model: "m",
      messages: [{ role: "user", content: "Hi" }],
      max_tokens: 5
    } as never)
    expect(Result.isFailure(withBudget)).toBe(true)
  })
})

const completion = (message: ChatCompletion["choices"][number]["message"], extra: Partial<ChatCompletion> = {}) =>
  ({
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1,
    model: "gpt-4",
    choices: [{ index: 0, message, finish_reason: "tool_calls" }],
    usage: {
      prompt_tokens: 120,
      completion_tokens: 9,
      total_tokens: 129,
      prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 15 }
    },
    ...extra
  }) satisfies ChatCompletion

describe("chat answer → Anthropic message", () => {
  it("orders reasoning, text and tool use, and splits the prompt into input and cache counts", () => {
    const message = toMessage(
      completion({
        role: "assistant",
        content: "Checking.",
        reasoning_content: "Hmm.",
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "f", arguments: '{"a":1}' } },
          { id: "call_2", type: "function", function: { name: "g", arguments: "not json" } }
        ]
      }),
      "req_0123"
    )
    expect(message).toEqual({
      id: "msg_0123",
      type: "message",
      role: "assistant",
      model: "gpt-4",
      content: [
        { type: "thinking", thinking: "Hmm.", signature: "" },
        { type: "text", text: "Checking." },
        { type: "tool_use", id: "call_1", name: "f", input: { a: 1 } },
        { type: "tool_use", id: "call_2", name: "g", input: {} }
      ],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: { input_tokens: 5, output_tokens: 9, cache_read_input_tokens: 100, cache_creation_input_tokens: 15 }
    })
  })

  it("keeps Claude's message id and signed blocks", () => {
    const message = toMessage(
      completion(
        {
          role: "assistant",
          content: "A",
          reasoning_content: "R",
          thinking_blocks: [
            { type: "thinking", thinking: "R", signature: "sig" },
            { type: "redacted_thinking", data: "x" }
          ]
        },
        { id: "msg_up" }
      ),
      "req_0123"
    )
    expect(message.id).toBe("msg_up")
    expect(message.content).toEqual([
      { type: "thinking", thinking: "R", signature: "sig" },
      { type: "redacted_thinking", data: "x" },
      { type: "text", text: "A" }
    ])
  })
})

const context = { id: "msg_s", object: "chat.completion.chunk" as const, created: 1, model: "claude-3" }
const delta = (value: ChunkChoice["delta"], finish: ChunkChoice["finish_reason"] = null): ChatCompletionChunk => ({
  ...context,
  choices: [{ index: 0, delta: value, finish_reason: finish }]
})
const usageChunk = (usage: Usage): ChatCompletionChunk => ({ ...context, choices: [], usage })
const run = (chunks: ReadonlyArray<ChatCompletionChunk>): Array<MessageStreamEvent> => {
  const writer = new MessageEvents("req_1")
  return [...chunks.flatMap((chunk) => writer.push(chunk)), ...writer.end()]
}
const zeros = { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }
const start = (usage = zeros): ReadonlyArray<MessageStreamEvent> => [
  {
    type: "message_start",
    message: {
      id: "msg_s",
      type: "message",
      role: "assistant",
      model: "claude-3",
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage
    }
  },
  { type: "ping" }
]

describe("chunk stream → Anthropic events", () => {
  it("opens a block per kind: thinking (signature at its end), text, then one per tool call", () => {
    const prompt: Usage = { prompt_tokens: 12, completion_tokens: 1, total_tokens: 13 }
    const final: Usage = { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 }
    const events = run([
      delta({ role: "assistant", content: "" }),
      usageChunk(prompt),
      delta({ reasoning_content: "Let me" }),
      delta({ reasoning_content: " think." }),
      delta({ thinking_blocks: [{ type: "thinking", thinking: "Let me think.", signature: "sig" }] }),
      delta({ content: "Hi" }),
      delta({ tool_calls: [{ index: 0, id: "t1", type: "function", function: { name: "f", arguments: "" } }] }),
      delta({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] }),
      delta({ tool_calls: [{ index: 0, function: { arguments: "1}" } }] }),
      delta({ tool_calls: [{ index: 1, id: "t2", type: "function", function: { name: "g", arguments: "{}" } }] }),
      delta({}, "tool_calls"),
      usageChunk(final)
    ])
    expect(events).toEqual([
      ...start({ ...zeros, input_tokens: 12, output_tokens: 1 }),
      { type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "", signature: "" } },
      { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "Let me" } },
      { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: " think." } },
      { type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: "sig" } },
      { type: "content_block_stop", index: 0 },
      { type: "content_block_start", index: 1, content_block: { type: "text", text: "" } },
      { type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "Hi" } },
      { type: "content_block_stop", index: 1 },
      { type: "content_block_start", index: 2, content_block: { type: "tool_use", id: "t1", name: "f", input: {} } },
      { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: '{"a":' } },
      { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: "1}" } },
      { type: "content_block_stop", index: 2 },
      { type: "content_block_start", index: 3, content_block: { type: "tool_use", id: "t2", name: "g", input: {} } },
      { type: "content_block_delta", index: 3, delta: { type: "input_json_delta", partial_json: "{}" } },
      { type: "content_block_stop", index: 3 },
      {
        type: "message_delta",
        delta: { stop_reason: "tool_use", stop_sequence: null },
        usage: { ...zeros, input_tokens: 12, output_tokens: 30 }
      },
      { type: "message_stop" }
    ])
  })

  it("starts the message at the first content when usage comes only at the end (OpenAI, Gemini)", () => {
    const events = run([
      delta({ role: "assistant", content: "" }),
      delta({ content: "Hello" }),
      delta({}, "length"),
      usageChunk({
        prompt_tokens: 20,
        completion_tokens: 2,
        total_tokens: 22,
        prompt_tokens_details: { cached_tokens: 8 }
      })
    ])
    expect(events.slice(0, 2)).toEqual(start())
    expect(events.at(-2)).toEqual({
      type: "message_delta",
      delta: { stop_reason: "max_tokens", stop_sequence: null },
      usage: { input_tokens: 12, output_tokens: 2, cache_read_input_tokens: 8, cache_creation_input_tokens: 0 }
    })
  })

  it("sends a redacted thinking block whole, and a thinking block whose text was not streamed", () => {
    const events = run([
      delta({ role: "assistant", content: "" }),
      delta({ thinking_blocks: [{ type: "redacted_thinking", data: "opaque" }] }),
      delta({ thinking_blocks: [{ type: "thinking", thinking: "", signature: "sig" }] }),
      delta({}, "stop")
    ])
    expect(events.slice(2, -2)).toEqual([
      { type: "content_block_start", index: 0, content_block: { type: "redacted_thinking", data: "opaque" } },
      { type: "content_block_stop", index: 0 },
      { type: "content_block_start", index: 1, content_block: { type: "thinking", thinking: "", signature: "" } },
      { type: "content_block_delta", index: 1, delta: { type: "signature_delta", signature: "sig" } },
      { type: "content_block_stop", index: 1 }
    ])
  })

  it("an empty stream is still a whole message", () => {
    expect(run([]).map((event) => event.type)).toEqual(["message_start", "ping", "message_delta", "message_stop"])
  })
})
