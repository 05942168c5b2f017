/**
 * The Gemini fake checked with the official `@google/genai` SDK, so that it cannot drift
 * from what the real API and its SDK do.
 */
import { ApiError, GoogleGenAI } from "@google/genai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { FakeUpstream } from "./FakeUpstream.ts"
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

  it("gives scripted failures as Gemini error bodies", async () => {
    fake.script({ kind: "error", status: 429, message: "Resource has been exhausted" })
    const error = await ai.models.generateContent({ model, contents: "Hi" }).catch((e: unknown) => e)
    expect((error as ApiError).status).toBe(429)
    expect((error as ApiError).message).toContain("RESOURCE_EXHAUSTED")
  })
})
