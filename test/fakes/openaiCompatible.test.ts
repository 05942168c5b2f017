/**
 * The OpenAI-compatible fake checked with the official `openai` SDK: it answers in vLLM's
 * shapes, which the SDK itself reads without complaint, and takes fields OpenAI would refuse.
 */
import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type CompatibleFake, startOpenAICompatibleFake } from "./openaiCompatible.ts"

let fake: CompatibleFake
let client: OpenAI
beforeAll(async () => {
  fake = await startOpenAICompatibleFake("sk-vllm")
  client = new OpenAI({ apiKey: "sk-vllm", baseURL: `${fake.url}/v1`, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const hello = { model: "Qwen/Qwen3-8B", messages: [{ role: "user" as const, content: "Hi there" }] }

describe("OpenAI-compatible fake (vLLM's shapes), seen through the openai SDK", () => {
  it("answers with nulls for the objects OpenAI leaves out, extra fields, and the served model's name", async () => {
    const completion = await client.chat.completions.create({ ...hello, logprobs: true })
    expect(completion.model).toBe("Qwen/Qwen3-8B")
    expect(completion).toMatchObject({ system_fingerprint: null, service_tier: null, prompt_logprobs: null })
    expect(completion.choices[0]).toMatchObject({
      message: { content: "Echo: Hi there", tool_calls: [], annotations: null, reasoning_content: null },
      finish_reason: "stop",
      stop_reason: null
    })
    expect(completion.choices[0]?.logprobs?.content?.map((entry) => entry.token)).toEqual(["Echo: ", "Hi ", "there"])
    expect(completion.usage).toMatchObject({
      total_tokens: completion.usage!.prompt_tokens + 3,
      prompt_tokens_details: null
    })
  })

  it("takes fields OpenAI does not know, and reports the finish reason it is told to", async () => {
    fake.quirks.finishReason = "abort"
    // vLLM's own sampling fields, which the SDK's types do not know.
    const extended = { ...hello, top_k: 20, min_p: 0.05 }
    const completion = await client.chat.completions.create(extended)
    expect(fake.received[0]?.body).toMatchObject({ top_k: 20, min_p: 0.05 })
    expect(completion.choices[0]?.finish_reason as string).toBe("abort")
  })

  it("streams usage on every chunk, growing, then the final usage chunk", async () => {
    const stream = await client.chat.completions.create({
      ...hello,
      stream: true,
      stream_options: { include_usage: true }
    })
    const chunks: Array<OpenAI.ChatCompletionChunk> = []
    for await (const chunk of stream) chunks.push(chunk)
    const completed = chunks.map((chunk) => chunk.usage?.completion_tokens)
    expect(completed).toEqual([0, 1, 2, 3, 3, 3])
    expect(chunks.at(-1)?.choices).toEqual([])
  })
})
