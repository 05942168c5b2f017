/**
 * Every optional field of an OpenAI(-compatible) answer, field by field: present, it reaches the
 * client as sent; `null` (compatible servers) or absent, it is left out. Whole answers and chunks
 * are compared exactly, so that a field added or lost shows.
 */
import { describe, expect, it } from "vitest"
import { streamTranslator, toChatCompletion } from "../../../src/providers/openai/translate.ts"
import { translateAll } from "../../../src/providers/StreamTranslator.ts"
import { success } from "../../support/result.ts"

const call = { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }
const thinking = [{ type: "thinking", thinking: "Paris is in France.", signature: "sig" }]
const audio = { id: "audio_1", data: "UklGRg==", expires_at: 1, transcript: "Hi" }
const logprobs = { content: [{ token: "Hi", logprob: -0.1, bytes: [72, 105], top_logprobs: [] }] }

const completion = (message: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1,
  model: "gpt-4-0613",
  choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: "stop", ...extra }]
})

const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 1,
  model: "gpt-4-0613",
  choices: [{ index: 0, delta, finish_reason: null, ...extra }]
})

describe("OpenAI answer → canonical answer, field by field", () => {
  it("passes every field that is present", () => {
    const raw = {
      ...completion(
        {
          content: null,
          tool_calls: [call],
          function_call: { name: "legacy", arguments: "{}" },
          refusal: "No.",
          annotations: [{ type: "url_citation" }],
          audio,
          reasoning_content: "Because.",
          thinking_blocks: thinking
        },
        { logprobs }
      ),
      system_fingerprint: "fp_1",
      service_tier: "default",
      usage: {
        prompt_tokens: 10,
        completion_tokens: 5,
        total_tokens: 15,
        prompt_tokens_details: { cached_tokens: 4 },
        completion_tokens_details: { reasoning_tokens: 2 }
      }
    }
    expect(success(toChatCompletion(raw, "gpt-4"))).toEqual({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: "gpt-4",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: null,
            tool_calls: [call],
            function_call: { name: "legacy", arguments: "{}" },
            refusal: "No.",
            annotations: [{ type: "url_citation" }],
            audio,
            reasoning_content: "Because.",
            thinking_blocks: thinking
          },
          finish_reason: "stop",
          logprobs
        }
      ],
      system_fingerprint: "fp_1",
      service_tier: "default",
      usage: {
        prompt_tokens: 10,
        completion_tokens: 5,
        total_tokens: 15,
        prompt_tokens_details: { cached_tokens: 4 },
        completion_tokens_details: { reasoning_tokens: 2 }
      }
    })
  })

  it("leaves out what a compatible server sent as null, and an empty tool_calls", () => {
    const raw = {
      ...completion(
        {
          content: "Hi",
          tool_calls: [],
          function_call: null,
          annotations: null,
          audio: null,
          reasoning_content: null,
          reasoning: null,
          thinking_blocks: null
        },
        { logprobs: null }
      ),
      service_tier: null,
      usage: {
        prompt_tokens: 10,
        completion_tokens: 5,
        prompt_tokens_details: { cached_tokens: null },
        completion_tokens_details: null
      }
    }
    expect(success(toChatCompletion(raw, "gpt-4"))).toEqual({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: "gpt-4",
      choices: [{ index: 0, message: { role: "assistant", content: "Hi" }, finish_reason: "stop", logprobs: null }],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }
    })
    // No usage at all: the answer has none.
    expect(success(toChatCompletion(completion({ content: "Hi" }), "gpt-4"))).not.toHaveProperty("usage")
  })
})

describe("OpenAI stream → canonical chunks, field by field", () => {
  it("passes each delta's fields that are present and leaves out the nulls", () => {
    const chunks = success(
      translateAll(streamTranslator("gpt-4", 1), [
        chunk({ role: "assistant", content: null, refusal: null, tool_calls: null, function_call: null, audio: null }),
        chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f" } }] }),
        chunk({ function_call: { arguments: "{}" } }, { logprobs }),
        chunk({ refusal: "No.", audio: { id: "audio_1" } }),
        chunk({ reasoning: "Because.", thinking_blocks: thinking, reasoning_content: null }),
        { ...chunk({}), choices: [] }, // neither choices nor usage: nothing goes out
        { ...chunk({}, { finish_reason: "stop" }), usage: { prompt_tokens: 3, completion_tokens: 2 } }
      ])
    )
    expect(chunks.map((out) => out.object)).toEqual(Array(7).fill("chat.completion.chunk"))
    expect(chunks.map((out) => out.choices.map(({ delta, ...rest }) => ({ delta, ...rest })))).toEqual([
      [{ index: 0, delta: { role: "assistant", content: null, refusal: null }, finish_reason: null }],
      [
        {
          index: 0,
          delta: { tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f" } }] },
          finish_reason: null
        }
      ],
      [{ index: 0, delta: { function_call: { arguments: "{}" } }, finish_reason: null, logprobs }],
      [{ index: 0, delta: { refusal: "No.", audio: { id: "audio_1" } }, finish_reason: null }],
      [{ index: 0, delta: { reasoning_content: "Because.", thinking_blocks: thinking }, finish_reason: null }],
      [{ index: 0, delta: {}, finish_reason: "stop" }],
      []
    ])
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 })
  })
})
