/**
 * Canonical ⇄ OpenAI translation, pure: the request keeps the client's fields and gains
 * the gateway's budget and streamed usage; recorded answers come back with the public
 * model and with what OpenAI returns that clients use.
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import type { ChatCompletionRequest } from "../../../src/domain/Chat.ts"
import { streamTranslator, toChatCompletion } from "../../../src/providers/openai/translate.ts"
import { toOpenAIRequest } from "../../../src/providers/openai/translateRequest.ts"
import { translateAll } from "../../../src/providers/StreamTranslator.ts"
import { jsonFixture, sseFixture } from "../../support/fixtures.ts"
import { testModel } from "../../support/billingModels.ts"
import { success } from "../../support/result.ts"

const model = {
  ...testModel("gpt-4", { input: "30", output: "60" }),
  provider: "openai" as const,
  upstreamModel: "gpt-4-0613",
  maxOutputTokens: 8192
}
const hello: ChatCompletionRequest = { model: "gpt-4", messages: [{ role: "user", content: "Hi" }] }
const input = (request: ChatCompletionRequest, maxTokens = 8192) => ({ request, model, maxTokens, requestId: "r" })

describe("canonical request → OpenAI request", () => {
  it("names the upstream model, sends the gateway's budget, drops nulls", () => {
    const body = success(
      toOpenAIRequest(input({ ...hello, temperature: 0.3, tools: null, user: null, max_tokens: 100 }, 100), false)
    )
    expect(body).toEqual({ model: "gpt-4-0613", messages: hello.messages, temperature: 0.3, max_tokens: 100 })
  })

  it("keeps max_completion_tokens when the client used it", () => {
    const body = success(toOpenAIRequest(input({ ...hello, max_completion_tokens: 50 }, 50), false))
    expect(body).toMatchObject({ max_completion_tokens: 50 })
    expect(body).not.toHaveProperty("max_tokens")
  })

  it("always asks for usage on streams, whatever the client asked", () => {
    const body = success(
      toOpenAIRequest(input({ ...hello, stream: true, stream_options: { include_usage: false } }), true)
    )
    expect(body).toMatchObject({ stream: true, stream_options: { include_usage: true } })
    expect(success(toOpenAIRequest(input({ ...hello, stream: true }), false))).not.toHaveProperty("stream")
  })
})

describe("OpenAI answers → canonical", () => {
  it("a recorded completion keeps its content, usage and what clients use, with the public model", () => {
    const completion = success(toChatCompletion(jsonFixture("openai/completion.json"), "gpt-4"))
    expect(completion).toMatchObject({
      id: "chatcmpl-123",
      model: "gpt-4",
      created: 1717000000,
      system_fingerprint: "fp_0ba0d124f1",
      service_tier: "default"
    })
    expect(completion.choices[0]).toEqual({
      index: 0,
      message: { role: "assistant", content: "Hello!", refusal: null, annotations: [] },
      finish_reason: "stop",
      logprobs: null
    })
    expect(completion.usage).toEqual({
      prompt_tokens: 9,
      completion_tokens: 3,
      total_tokens: 12,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 }
    })
  })

  const events = () =>
    sseFixture("openai/stream-tool-call.sse")
      .filter((event) => event.data !== "[DONE]")
      .map((event) => JSON.parse(event.data))

  it("a recorded stream passes through with the public model, usage only on the usage chunk", () => {
    const chunks = success(translateAll(streamTranslator("gpt-4", 1), events()))
    expect(chunks).toHaveLength(8)
    expect(chunks.every((chunk) => chunk.model === "gpt-4")).toBe(true)
    expect(chunks.slice(0, -1).every((chunk) => !("usage" in chunk))).toBe(true)
    expect(chunks.some((chunk) => "obfuscation" in chunk)).toBe(false)
    expect(chunks[3]?.choices[0]?.delta.tool_calls?.[0]).toEqual({
      index: 0,
      id: "call_abc",
      type: "function",
      function: { name: "get_weather", arguments: "" }
    })
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 2 } })
  })

  it("a stream that ends before every choice finished is a Transport failure", () => {
    const cut = events().slice(0, 4)
    expect(Result.isFailure(translateAll(streamTranslator("gpt-4", 1), cut))).toBe(true)
    const missingSecondChoice = events()
    expect(Result.isFailure(translateAll(streamTranslator("gpt-4", 2), missingSecondChoice))).toBe(true)
  })
})
