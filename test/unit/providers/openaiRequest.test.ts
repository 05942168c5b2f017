/**
 * The OpenAI request translator against its field policy: every known field does what the
 * table says, fields the gateway does not know travel untouched, reasoning models get their
 * budget as max_completion_tokens, and the catalog's parameter rules apply first.
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import type { CatalogModel } from "../../../src/domain/Catalog.ts"
import { ChatCompletionFields, type ChatCompletionRequest } from "../../../src/domain/Chat.ts"
import { fieldPolicy } from "../../../src/providers/openai/fieldPolicy.ts"
import { toOpenAIRequest } from "../../../src/providers/openai/translateRequest.ts"
import { applyParameterRules } from "../../../src/providers/translateCommon.ts"
import { testModel } from "../../support/billingModels.ts"
import { failure, success } from "../../support/result.ts"

const chatModel: CatalogModel = {
  ...testModel("gpt-4.1", { input: "2", output: "8" }),
  provider: "openai",
  upstreamModel: "gpt-4.1-2025-04-14",
  maxOutputTokens: 32768
}
const reasoningModel: CatalogModel = {
  ...chatModel,
  id: "o4-mini",
  upstreamModel: "o4-mini",
  reasoning: true,
  thinking: { kind: "effort" },
  unsupportedParameters: ["temperature", "top_p", "presence_penalty", "frequency_penalty", "logprobs"]
}

const hello: ChatCompletionRequest = { model: "gpt-4.1", messages: [{ role: "user", content: "Hi" }] }
const input = (request: ChatCompletionRequest, model = chatModel, maxTokens = 1000) => ({
  request,
  model,
  maxTokens,
  requestId: "r"
})
const bodyOf = (request: ChatCompletionRequest, model = chatModel, stream = false) =>
  success(toOpenAIRequest(input(request, model), stream))

/** A value of each field OpenAI documents (https://platform.openai.com/docs/api-reference/chat/create). */
const samples: Record<string, unknown> = {
  temperature: 0.3,
  top_p: 0.9,
  frequency_penalty: 0.5,
  presence_penalty: -0.5,
  n: 2,
  stop: ["END"],
  tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object" } } }],
  tool_choice: "auto",
  parallel_tool_calls: false,
  response_format: {
    type: "json_schema",
    json_schema: { name: "answer", schema: { type: "object" }, strict: true }
  },
  user: "user-1",
  seed: 7,
  reasoning_effort: "minimal",
  verbosity: "low",
  logprobs: true,
  top_logprobs: 3,
  logit_bias: { "50256": -100 },
  service_tier: "flex",
  store: true,
  metadata: { team: "search" },
  prediction: { type: "content", content: "draft" },
  modalities: ["text", "audio"],
  audio: { voice: "alloy", format: "wav" },
  web_search_options: { search_context_size: "low" },
  prompt_cache_key: "tenant-42",
  safety_identifier: "hashed-user",
  functions: [{ name: "lookup", parameters: { type: "object" } }],
  function_call: "auto"
}

describe("OpenAI field policy", () => {
  it("names every field of the request schema", () => {
    expect(Object.keys(fieldPolicy).sort()).toEqual(Object.keys(ChatCompletionFields.fields).sort())
  })

  const passed = Object.entries(fieldPolicy).filter(
    ([field, { treatment }]) => treatment === "passed" && field !== "messages"
  )
  it.each(passed)("%s is passed unchanged", (field) => {
    expect(samples).toHaveProperty(field)
    const effortModel = { ...chatModel, thinking: { kind: "effort" } as const }
    const request = { ...hello, [field]: samples[field] } as ChatCompletionRequest
    expect(bodyOf(request, effortModel)[field]).toEqual(samples[field])
  })

  it("the gateway decides model, budget and streaming", () => {
    const body = bodyOf(
      { ...hello, max_tokens: 50, stream: true, stream_options: { include_usage: false } },
      chatModel,
      true
    )
    expect(body).toMatchObject({
      model: "gpt-4.1-2025-04-14",
      max_tokens: 1000,
      stream: true,
      stream_options: { include_usage: true }
    })
  })

  it('service_tier "priority" is refused, naming the field', () => {
    const refused = failure(toOpenAIRequest(input({ ...hello, service_tier: "priority" }), false))
    expect(refused).toMatchObject({ _tag: "Unsupported", param: "service_tier" })
  })
})

describe("OpenAI request pass-through", () => {
  it("fields the gateway does not know reach the upstream untouched", () => {
    const extensions = { top_k: 20, foo_bar: { nested: [1, "two", null] }, chat_template_kwargs: { thinking: true } }
    const body = bodyOf({ ...hello, ...extensions } as ChatCompletionRequest)
    expect(body).toMatchObject(extensions)
  })

  it("messages lose only the gateway's reasoning fields", () => {
    const assistant = {
      role: "assistant" as const,
      content: "Checking.",
      reasoning_content: "The user wants the weather.",
      thinking_blocks: [{ type: "thinking" as const, thinking: "…", signature: "sig" }]
    }
    const messages = [hello.messages[0]!, assistant, { role: "user" as const, content: "And tomorrow?" }]
    expect(bodyOf({ ...hello, messages }).messages).toEqual([
      hello.messages[0],
      { role: "assistant", content: "Checking." },
      { role: "user", content: "And tomorrow?" }
    ])
    expect(bodyOf(hello).messages).toBe(hello.messages)
  })
})

describe("reasoning models", () => {
  it("take the budget as max_completion_tokens, whichever field the client used, and reasoning_effort as sent", () => {
    for (const limit of [{}, { max_tokens: 300 }, { max_completion_tokens: 300 }]) {
      const body = bodyOf({ ...hello, ...limit, reasoning_effort: "high" }, reasoningModel)
      expect(body).toMatchObject({ max_completion_tokens: 1000, reasoning_effort: "high" })
      expect(body).not.toHaveProperty("max_tokens")
    }
  })

  it("reasoning_effort is left out for a model that does not reason", () => {
    expect(bodyOf({ ...hello, reasoning_effort: "low" })).not.toHaveProperty("reasoning_effort")
  })

  it("a refused sampling field at its neutral value is dropped, at any other value refused", () => {
    const neutral = bodyOf({ ...hello, temperature: 1, presence_penalty: 0, logprobs: false }, reasoningModel)
    expect(neutral).not.toHaveProperty("temperature")
    expect(neutral).not.toHaveProperty("presence_penalty")
    expect(neutral).not.toHaveProperty("logprobs")
    const refused = failure(toOpenAIRequest(input({ ...hello, temperature: 0.2 }, reasoningModel), false))
    expect(refused).toMatchObject({ _tag: "Unsupported", param: "temperature" })
    expect(refused.message).toBe("The model o4-mini does not support temperature; leave it out or set it to 1")
  })
})

describe("catalog parameter rules", () => {
  const exclusive = { ...chatModel, exclusiveParameters: [["temperature", "top_p"]] }

  it("of a group refused together, the first field of the group the request sets is kept", () => {
    const kept = success(applyParameterRules({ ...hello, top_p: 0.5, temperature: 0.7 }, exclusive))
    expect(kept).toMatchObject({ temperature: 0.7 })
    expect(kept).not.toHaveProperty("top_p")
    expect(success(applyParameterRules({ ...hello, top_p: 0.5 }, exclusive))).toMatchObject({ top_p: 0.5 })
  })

  it("a request no rule touches is returned as it is", () => {
    const request = { ...hello, temperature: 0.7, top_p: null }
    expect(success(applyParameterRules(request, exclusive))).toBe(request)
    const neutral = { ...hello, temperature: 1 }
    expect(success(applyParameterRules(neutral, reasoningModel))).not.toBe(neutral)
    expect(Result.isFailure(applyParameterRules({ ...hello, top_p: 0.3 }, reasoningModel))).toBe(true)
  })
})
