/**
 * The Gemini fake checked with the official `@google/genai` SDK, so that it cannot drift
 * from what the real API and its SDK do.
 */
import { ApiError, GoogleGenAI, ThinkingLevel } from "@google/genai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { FakeUpstream } from "./FakeUpstream.ts"
import { fakeVector } from "./embeddings.ts"
import { startGeminiFake } from "./gemini.ts"

let fake: FakeUpstream
let ai: GoogleGenAI
beforeAll(async () => {
  fake = await startGeminiFake("gm-test")
  ai = new GoogleGenAI({ apiKey: "gm-test", httpOptions: { baseUrl: fake.url, apiVersion: "v1beta" } })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const model = "gemini-1.5-pro"

const raw = (path: string, body: unknown, headers: Record<string, string> = { "x-goog-api-key": "gm-test" }) =>
  fetch(`${fake.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body)
  })

describe("Gemini fake, seen through the @google/genai SDK", () => {
  it("answers generateContent, with the key in x-goog-api-key", async () => {
    const response = await ai.models.generateContent({ model, contents: "Hi there" })
    expect(response.text).toBe("Echo: Hi there")
    expect(response.candidates?.[0]?.finishReason).toBe("STOP")
    expect(response.usageMetadata?.candidatesTokenCount).toBe(3)
    expect(fake.received[0]?.headers["x-goog-api-key"]).toBe("gm-test")
    expect(fake.received[0]?.path).toBe(`/v1beta/models/${model}:generateContent`)
  })

  it("streams alt=sse events the SDK parses, with running usage totals", async () => {
    const stream = await ai.models.generateContentStream({
      model,
      contents: "Hi there",
      config: { systemInstruction: "Be terse" }
    })
    const texts: Array<string> = []
    const totals: Array<number | undefined> = []
    for await (const chunk of stream) {
      texts.push(chunk.text ?? "")
      totals.push(chunk.usageMetadata?.candidatesTokenCount)
    }
    expect(texts.join("")).toBe("Echo: Hi there")
    expect(totals).toEqual([1, 2, 3])
    expect(fake.received[0]?.query.get("alt")).toBe("sse")
  })

  it("reports scripted cached content and thoughts on every streamed event, as running totals", async () => {
    const usage = { input: 100, output: 50, cacheRead: 1000, reasoning: 30 }
    fake.script({ kind: "reply", reply: { text: "One two three.", usage } })
    const stream = await ai.models.generateContentStream({ model, contents: "Hi there" })
    const metadata: Array<unknown> = []
    for await (const chunk of stream) metadata.push(chunk.usageMetadata)
    const fixed = { promptTokenCount: 1100, cachedContentTokenCount: 1000, thoughtsTokenCount: 30 }
    expect(metadata).toEqual([
      { ...fixed, candidatesTokenCount: 1, totalTokenCount: 1131 },
      { ...fixed, candidatesTokenCount: 2, totalTokenCount: 1132 },
      { ...fixed, candidatesTokenCount: 20, totalTokenCount: 1150 }
    ])
  })

  it("returns whole function calls", async () => {
    fake.script({ kind: "reply", reply: { toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }] } })
    const response = await ai.models.generateContent({
      model,
      contents: "Weather?",
      config: {
        tools: [
          {
            functionDeclarations: [
              {
                name: "get_weather",
                parameters: { type: "object" as never, properties: { city: { type: "string" as never } } }
              }
            ]
          }
        ]
      }
    })
    expect(response.functionCalls).toEqual([{ name: "get_weather", args: { city: "Paris" } }])
  })

  it("refuses a wrong key with 400 API_KEY_INVALID, and what the real API refuses", async () => {
    const wrong = new GoogleGenAI({ apiKey: "nope", httpOptions: { baseUrl: fake.url, apiVersion: "v1beta" } })
    const error = await wrong.models.generateContent({ model, contents: "Hi" }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect((error as ApiError).status).toBe(400)
    expect((error as ApiError).message).toContain("API_KEY_INVALID")
    const path = `/v1beta/models/${model}:generateContent`
    const bad = [
      { contents: [{ role: "assistant", parts: [{ text: "Hello" }] }] },
      { contents: [{ role: "system", parts: [{ text: "Be terse" }] }] },
      {
        contents: [
          { role: "user", parts: [{ text: "a" }] },
          { role: "user", parts: [{ text: "b" }] }
        ]
      },
      { contents: [{ role: "user", parts: [{ text: "" }] }] },
      { contents: [{ role: "user", parts: [{ functionResponse: { name: "f", response: { content: "x" } } }] }] },
      {
        contents: [{ role: "user", parts: [{ text: "a" }] }],
        tools: [{ functionDeclarations: [{ name: "f", parameters: { type: "object", additionalProperties: false } }] }]
      }
    ]
    for (const body of bad) expect((await raw(path, body)).status).toBe(400)
    expect((await raw(path, bad[0], {})).status).toBe(403)
  })

  it("accepts snake_case fields and the key in the query, and streams a JSON array without alt=sse", async () => {
    const body = {
      system_instruction: { parts: [{ text: "Be terse" }] },
      contents: [{ role: "user", parts: [{ text: "Hi" }] }],
      generation_config: { max_output_tokens: 1 }
    }
    const answer = await raw(`/v1beta/models/${model}:generateContent?key=gm-test`, body, {})
    expect(await answer.json()).toMatchObject({ candidates: [{ finishReason: "MAX_TOKENS" }] })
    const array = await raw(`/v1beta/models/${model}:streamGenerateContent`, body)
    expect(Array.isArray(await array.json())).toBe(true)
  })

  it("serves batchEmbedContents as the SDK's embedContent sends it, shortened vectors unnormalised", async () => {
    const embedder = "gemini-embedding-001"
    const response = await ai.models.embedContent({
      model: embedder,
      contents: ["first", "second"],
      config: { outputDimensionality: 8, taskType: "RETRIEVAL_DOCUMENT" }
    })
    expect(fake.received.at(-1)?.path).toBe(`/v1beta/models/${embedder}:batchEmbedContents`)
    expect(response.embeddings?.map((embedding) => embedding.values)).toEqual([
      fakeVector(`${embedder}:first`, 8, false),
      fakeVector(`${embedder}:second`, 8, false)
    ])
    const full = await ai.models.embedContent({ model: embedder, contents: "first" })
    expect(full.embeddings?.[0]?.values).toEqual(fakeVector(`${embedder}:first`, 3072))
    const path = `/v1beta/models/${embedder}:batchEmbedContents`
    const request = { model: `models/${embedder}`, content: { parts: [{ text: "a" }] } }
    for (const body of [
      { requests: [] },
      { requests: [request], extra: 1 },
      { requests: [{ ...request, model: "models/other" }] },
      { requests: [{ ...request, content: { parts: [{ text: "" }] } }] },
      { requests: [{ ...request, outputDimensionality: 4000 }] },
      { requests: [{ ...request, dimensions: 8 }] }
    ]) {
      expect((await raw(path, body)).status, JSON.stringify(body)).toBe(400)
    }
    expect((await raw(path, { requests: [request] }, {})).status).toBe(403)
  })

  it("gives scripted failures as Gemini error bodies", async () => {
    fake.script({ kind: "error", status: 429, message: "Resource has been exhausted" })
    const error = await ai.models.generateContent({ model, contents: "Hi" }).catch((e: unknown) => e)
    expect((error as ApiError).status).toBe(429)
    expect((error as ApiError).message).toContain("RESOURCE_EXHAUSTED")
  })
})

describe("Gemini fake, today's models", () => {
  const refusal = (error: unknown) => ({ status: (error as ApiError).status, message: (error as ApiError).message })

  it("refuses penalties on Gemini 2.5 and 3, even at 0, and keeps taking them on 1.5", async () => {
    for (const current of ["gemini-2.5-flash", "gemini-3-flash-preview"]) {
      const error = await ai.models
        .generateContent({ model: current, contents: "Hi", config: { presencePenalty: 0 } })
        .catch(refusal)
      expect(error).toMatchObject({ status: 400, message: expect.stringContaining("Penalty is not enabled") })
    }
    const old = await ai.models.generateContent({ model, contents: "Hi", config: { frequencyPenalty: 0.5 } })
    expect(old.text).toBe("Echo: Hi")
  })

  it("refuses a thinking budget with a level, a budget out of the model's range, and thinking on 1.5", async () => {
    const refused = [
      { model: "gemini-3-flash-preview", thinkingConfig: { thinkingBudget: 1024, thinkingLevel: "low" } },
      { model: "gemini-2.5-pro", thinkingConfig: { thinkingBudget: 0 } },
      { model: "gemini-2.5-flash", thinkingConfig: { thinkingBudget: 50_000 } },
      { model: "gemini-2.5-flash", thinkingConfig: { thinkingLevel: "low" } },
      { model: "gemini-3.1-pro-preview", thinkingConfig: { thinkingLevel: "minimal" } },
      { model, thinkingConfig: { thinkingBudget: 1024 } }
    ]
    for (const { model: name, thinkingConfig } of refused) {
      const body = { contents: [{ role: "user", parts: [{ text: "Hi" }] }], generationConfig: { thinkingConfig } }
      expect((await raw(`/v1beta/models/${name}:generateContent`, body)).status, JSON.stringify(thinkingConfig)).toBe(
        400
      )
    }
  })

  it("returns thought summaries when asked, and signs Gemini 3's first function call", async () => {
    fake.script({
      kind: "reply",
      reply: {
        toolCalls: [
          { name: "weather", arguments: { city: "Paris" } },
          { name: "weather", arguments: { city: "Oslo" } }
        ]
      }
    })
    const response = await ai.models.generateContent({
      model: "gemini-3-flash-preview",
      contents: "Weather?",
      config: { thinkingConfig: { thinkingLevel: ThinkingLevel.LOW, includeThoughts: true } }
    })
    const parts = response.candidates?.[0]?.content?.parts ?? []
    expect(parts[0]).toEqual({ text: "Thinking about: Weather?", thought: true })
    expect(parts[1]?.thoughtSignature).toMatch(/^[A-Za-z0-9+/]+=*$/)
    expect(parts[2]?.thoughtSignature).toBeUndefined()
  })

  it("on Gemini 3, refuses the next step of a tool loop whose function call lost its signature", async () => {
    const path = "/v1beta/models/gemini-3-flash-preview:generateContent"
    fake.script({ kind: "reply", reply: { toolCalls: [{ name: "weather", arguments: { city: "Paris" } }] } })
    const first = await raw(path, { contents: [{ role: "user", parts: [{ text: "Weather?" }] }] })
    const answer = (await first.json()) as {
      candidates: Array<{ content: { parts: Array<{ functionCall: object; thoughtSignature?: string }> } }>
    }
    const call = answer.candidates[0]!.content.parts[0]!
    const loop = (callPart: object) => ({
      contents: [
        { role: "user", parts: [{ text: "Weather?" }] },
        { role: "model", parts: [callPart] },
        { role: "user", parts: [{ functionResponse: { name: "weather", response: { content: "21C" } } }] }
      ]
    })
    expect((await raw(path, loop(call))).status).toBe(200)
    const unsigned = await raw(path, loop({ functionCall: call.functionCall }))
    expect(unsigned.status).toBe(400)
    expect(JSON.stringify(await unsigned.json())).toContain("missing a thought_signature")
    expect((await raw(path, loop({ ...call, thoughtSignature: "Zm9yZ2Vk" }))).status).toBe(400)
    // A new user turn starts a new turn: earlier turns are not validated.
    const later = loop({ functionCall: call.functionCall })
    const next = { contents: [...later.contents, { role: "model", parts: [{ text: "21C" }] }, later.contents[0]] }
    expect((await raw(path, next)).status).toBe(200)
  })

  it("serves responseJsonSchema and parametersJsonSchema, refusing each beside its OpenAPI twin or a $ref with siblings", async () => {
    const path = "/v1beta/models/gemini-2.5-flash:generateContent"
    const contents = [{ role: "user", parts: [{ text: "Hi" }] }]
    const schema = { $defs: { A: { type: "string" } }, type: "object", properties: { a: { $ref: "#/$defs/A" } } }
    const ok = { contents, generationConfig: { responseMimeType: "application/json", responseJsonSchema: schema } }
    expect((await raw(path, ok)).status).toBe(200)
    const bad = [
      { contents, generationConfig: { ...ok.generationConfig, responseSchema: { type: "object" } } },
      { contents, generationConfig: { responseJsonSchema: schema } },
      {
        contents,
        generationConfig: {
          responseMimeType: "application/json",
          responseJsonSchema: { ...schema, properties: { a: { $ref: "#/$defs/A", description: "d" } } }
        }
      },
      { contents, tools: [{ functionDeclarations: [{ name: "f", parameters: {}, parametersJsonSchema: schema }] }] }
    ]
    for (const body of bad) expect((await raw(path, body)).status).toBe(400)
  })
})
