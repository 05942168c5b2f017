/**
 * Conformance: an OpenAI-compatible server (vLLM's shapes, `test/fakes/openaiCompatible.ts`)
 * behind the gateway, with the official `openai` SDK as the client. Its oddities — nulls for
 * absent objects, extra fields, its own finish reasons, usage on every chunk — are served as
 * normal answers in OpenAI's shape; its own request fields reach it untouched.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type CompatibleFake, startOpenAICompatibleFake } from "../fakes/openaiCompatible.ts"
import { startGateway, type TestGateway, token } from "../support/gateway.ts"

let upstream: CompatibleFake
let gateway: TestGateway
let client: OpenAI
beforeAll(async () => {
  upstream = await startOpenAICompatibleFake("sk-local")
  const directory = mkdtempSync(join(tmpdir(), "compatible-"))
  const modelsFile = join(directory, "models.json")
  const qwen = {
    id: "qwen3",
    provider: "openai",
    upstream_model: "Qwen/Qwen3-8B",
    owned_by: "local",
    input_price_per_1m: 0.1,
    output_price_per_1m: 0.2,
    max_output_tokens: 8192,
    context_window: 32768,
    aliases: ["local-default"]
  }
  writeFileSync(modelsFile, JSON.stringify({ models: [qwen] }))
  gateway = await startGateway({
    LOG_LEVEL: "none",
    SIMULATE_PROVIDERS: "false",
    OPENAI_API_KEY: "sk-local",
    OPENAI_BASE_URL: `${upstream.url}/v1`,
    MODELS_FILE: modelsFile
  })
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: await token("compatible"), maxRetries: 0 })
})
afterAll(async () => {
  await gateway.close()
  await upstream.close()
})
beforeEach(() => upstream.reset())

const messages: Array<OpenAI.ChatCompletionMessageParam> = [{ role: "user", content: "Hi there" }]

describe("an OpenAI-compatible server through the gateway", () => {
  it("its nulls and extra fields are served as a normal answer, log probabilities kept", async () => {
    const completion = await client.chat.completions.create({ model: "qwen3", messages, logprobs: true })
    expect(completion.model).toBe("qwen3")
    expect(completion.choices[0]).toEqual({
      index: 0,
      message: { role: "assistant", content: "Echo: Hi there", refusal: null },
      finish_reason: "stop",
      logprobs: expect.objectContaining({ content: expect.any(Array) })
    })
    expect(completion.choices[0]?.logprobs?.content?.map((entry) => entry.token)).toEqual(["Echo: ", "Hi ", "there"])
    expect(completion.usage).toMatchObject({ completion_tokens: 3 })
    expect(completion).not.toHaveProperty("prompt_logprobs")
  })

  it("its own request fields reach it untouched; an alias is served as its entry", async () => {
    const extended = { model: "local-default", messages, top_k: 20, repetition_penalty: 1.1 }
    const { data, response } = await client.chat.completions.create(extended).withResponse()
    expect(upstream.received[0]?.body).toMatchObject({ model: "Qwen/Qwen3-8B", top_k: 20, repetition_penalty: 1.1 })
    expect(data.model).toBe("qwen3")
    expect(response.headers.get("x-gateway-fallback-from")).toBeNull()
  })

  it("a stream with usage on every chunk and its own finish reason is a normal stream", async () => {
    upstream.quirks.finishReason = "abort"
    const stream = await client.chat.completions.create({
      model: "qwen3",
      messages,
      stream: true,
      stream_options: { include_usage: true }
    })
    const chunks: Array<OpenAI.ChatCompletionChunk> = []
    for await (const chunk of stream) chunks.push(chunk)
    const content = chunks.filter((chunk) => chunk.choices.length > 0)
    expect(content.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe("Echo: Hi there")
    expect(content.at(-1)?.choices[0]?.finish_reason).toBe("length")
    expect(content.every((chunk) => chunk.usage === undefined || chunk.usage === null)).toBe(true)
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 3 } })
    expect(chunks.filter((chunk) => chunk.usage)).toHaveLength(1)
  })

  it("the SDK's stream helper assembles the answer", async () => {
    const final = await client.chat.completions.stream({ model: "qwen3", messages }).finalChatCompletion()
    expect(final.choices[0]).toMatchObject({ finish_reason: "stop", message: { content: "Echo: Hi there" } })
  })
})
