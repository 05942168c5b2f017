/**
 * Conformance: the official `openai` SDK talks to the gateway, and the gateway to the fake
 * OpenAI, Anthropic and Gemini upstreams. Each test asserts what the client got and what
 * the upstream received.
 */
import type OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type Conformance, keys, models, resetAll, startConformance } from "./support.ts"

let setup: Conformance
beforeAll(async () => {
  setup = await startConformance()
})
afterAll(() => setup.close())
beforeEach(() => resetAll(setup.upstreams))

const unicode = "Привет, мир! 👋 日本語 — naïve café ∑"

describe.each(models)("$model through the gateway", ({ model, vendor, maxTokens }) => {
  const fake = () => setup.upstreams[vendor]
  const received = () => fake().received.at(-1)!

  it("answers a plain completion in OpenAI's shape, unicode intact", async () => {
    const { data, response } = await setup.client.chat.completions
      .create({
        model,
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: unicode }
        ]
      })
      .withResponse()
    expect(response.headers.get("x-gateway-provider")).toBe(vendor)
    expect(data).toMatchObject({ object: "chat.completion", model })
    expect(data.choices).toHaveLength(1)
    expect(data.choices[0]).toMatchObject({ index: 0, finish_reason: "stop", message: { role: "assistant" } })
    expect(data.choices[0]?.message.content).toBe(`Echo: ${unicode}`)
    expect(data.usage!.total_tokens).toBe(data.usage!.prompt_tokens + data.usage!.completion_tokens)
    expect(data.usage!.completion_tokens).toBe(9)

    const body = received().body
    switch (vendor) {
      case "openai":
        expect(body).toMatchObject({ model: "gpt-4", max_tokens: maxTokens })
        expect(body.messages).toEqual([
          { role: "system", content: "Be brief." },
          { role: "user", content: unicode }
        ])
        expect(received().headers.authorization).toBe(`Bearer ${keys.openai}`)
        break
      case "anthropic":
        expect(body).toEqual({
          model: "claude-3-haiku-20240307",
          max_tokens: maxTokens,
          system: "Be brief.",
          messages: [{ role: "user", content: [{ type: "text", text: unicode }] }],
          // The gateway's id of the authenticated user (ProviderUserId.ts).
          metadata: { user_id: expect.stringMatching(/^user_[A-Za-z0-9_-]{32}$/) }
        })
        expect(received().headers).toMatchObject({ "x-api-key": keys.anthropic, "anthropic-version": "2023-06-01" })
        expect(received().headers.authorization).toBeUndefined()
        break
      case "gemini":
        expect(received().path).toBe("/v1beta/models/gemini-1.5-pro:generateContent")
        expect(body).toEqual({
          contents: [{ role: "user", parts: [{ text: unicode }] }],
          systemInstruction: { parts: [{ text: "Be brief." }] },
          generationConfig: { maxOutputTokens: maxTokens }
        })
        expect(received().headers["x-goog-api-key"]).toBe(keys.gemini)
        expect(received().query.get("key")).toBeNull()
        break
    }
  })

  it("streams chunks the SDK's stream helper accepts, without usage unless asked", async () => {
    const stream = setup.client.chat.completions.stream({ model, messages: [{ role: "user", content: unicode }] })
    const chunks: Array<OpenAI.ChatCompletionChunk> = []
    for await (const chunk of stream) chunks.push(chunk)
    const final = await stream.finalChatCompletion()
    expect(final.choices[0]?.message.content).toBe(`Echo: ${unicode}`)
    expect(final.choices[0]?.finish_reason).toBe("stop")
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant")
    expect(chunks.every((chunk) => chunk.model === model && chunk.object === "chat.completion.chunk")).toBe(true)
    expect(chunks.every((chunk) => chunk.usage === undefined)).toBe(true)
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop")

    const body = received().body
    if (vendor === "openai") expect(body).toMatchObject({ stream: true, stream_options: { include_usage: true } })
    if (vendor === "anthropic") expect(body.stream).toBe(true)
    if (vendor === "gemini") {
      expect(received().path).toBe("/v1beta/models/gemini-1.5-pro:streamGenerateContent")
      expect(received().query.get("alt")).toBe("sse")
    }
  })

  it("keeps unicode intact when the upstream's bytes arrive split mid-character", async () => {
    fake().script({ kind: "reply", reply: { text: unicode }, trickle: true })
    const final = await setup.client.chat.completions
      .stream({ model, messages: [{ role: "user", content: "Say it" }] })
      .finalChatCompletion()
    expect(final.choices[0]?.message.content).toBe(unicode)
  })

  it("ends the stream with one usage chunk when the client asks include_usage", async () => {
    const stream = await setup.client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Hi there" }],
      stream: true,
      stream_options: { include_usage: true }
    })
    const chunks: Array<OpenAI.ChatCompletionChunk> = []
    for await (const chunk of stream) chunks.push(chunk)
    const usageChunks = chunks.filter((chunk) => chunk.usage !== undefined && chunk.usage !== null)
    expect(usageChunks).toHaveLength(1)
    expect(chunks.at(-1)).toBe(usageChunks[0])
    expect(chunks.at(-1)?.choices).toEqual([])
    const usage = chunks.at(-1)!.usage!
    expect(usage.completion_tokens).toBe(3)
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens)
    expect(usage.prompt_tokens).toBeGreaterThan(0)
  })

  it("applies stop sequences upstream", async () => {
    const completion = await setup.client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Hi there" }],
      stop: ["there"]
    })
    expect(completion.choices[0]?.message.content).toBe("Echo: Hi ")
    expect(completion.choices[0]?.finish_reason).toBe("stop")
    const body = received().body
    if (vendor === "openai") expect(body.stop).toEqual(["there"])
    if (vendor === "anthropic") expect(body.stop_sequences).toEqual(["there"])
    if (vendor === "gemini") expect(body.generationConfig.stopSequences).toEqual(["there"])
  })

  it("reports a truncated answer as length, with the client's max_tokens sent upstream", async () => {
    const completion = await setup.client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Hi there" }],
      max_tokens: 2
    })
    expect(completion.choices[0]).toMatchObject({ finish_reason: "length", message: { content: "Echo: Hi " } })
    const body = received().body
    if (vendor === "gemini") expect(body.generationConfig.maxOutputTokens).toBe(2)
    else expect(body.max_tokens).toBe(2)
  })
})
