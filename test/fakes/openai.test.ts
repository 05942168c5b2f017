/**
 * The OpenAI fake checked with the official `openai` SDK, so that it cannot drift from
 * what the real API and its SDK do.
 */
import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { FakeUpstream } from "./FakeUpstream.ts"
import { fakeVector } from "./embeddings.ts"
import { startOpenAIFake } from "./openai.ts"

let fake: FakeUpstream
let client: OpenAI
beforeAll(async () => {
  fake = await startOpenAIFake("sk-test")
  client = new OpenAI({ apiKey: "sk-test", baseURL: `${fake.url}/v1`, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const hello = { model: "gpt-4", messages: [{ role: "user" as const, content: "Hi there" }] }

describe("OpenAI fake, seen through the openai SDK", () => {
  it("answers a completion as JSON with usage and the snapshot model", async () => {
    const completion = await client.chat.completions.create(hello)
    expect(completion.choices[0]?.message.content).toBe("Echo: Hi there")
    expect(completion.choices[0]?.finish_reason).toBe("stop")
    expect(completion.model).toBe("gpt-4-0613")
    expect(completion.usage?.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens)
    expect(fake.received[0]?.headers.authorization).toBe("Bearer sk-test")
  })

  it("streams in a form the SDK's accumulator accepts, with the usage chunk only when asked", async () => {
    const stream = client.chat.completions.stream({ ...hello, stream_options: { include_usage: true } })
    const chunks: Array<OpenAI.ChatCompletionChunk> = []
    for await (const chunk of stream) chunks.push(chunk)
    const final = await stream.finalChatCompletion()
    expect(final.choices[0]?.message.content).toBe("Echo: Hi there")
    expect(chunks.at(-1)?.choices).toEqual([])
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(3) // "Echo: ", "Hi ", "there"
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true)

    const plain = await client.chat.completions.create({ ...hello, stream: true })
    const seen: Array<OpenAI.ChatCompletionChunk> = []
    for await (const chunk of plain) seen.push(chunk)
    expect(seen.some((chunk) => chunk.usage !== undefined)).toBe(false)
  })

  it("reports scripted cache reads and reasoning in the usage details, cache writes as plain prompt", async () => {
    const usage = { input: 100, output: 50, cacheRead: 1000, cacheWrite: 20, reasoning: 30 }
    fake.script({ kind: "reply", reply: { text: "Done.", usage } }, { kind: "reply", reply: { text: "Done.", usage } })
    const completion = await client.chat.completions.create(hello)
    expect(completion.usage).toMatchObject({
      prompt_tokens: 1120,
      completion_tokens: 50,
      total_tokens: 1170,
      prompt_tokens_details: { cached_tokens: 1000 },
      completion_tokens_details: { reasoning_tokens: 30 }
    })
    const stream = await client.chat.completions.create({
      ...hello,
      stream: true,
      stream_options: { include_usage: true }
    })
    const chunks: Array<OpenAI.ChatCompletionChunk> = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.at(-1)?.usage).toEqual(completion.usage)
  })

  it("sends scripted usage the gateway must refuse as given", async () => {
    fake.script({ kind: "reply", reply: { text: "Done.", usage: { input: 10.5, output: -3 } } })
    const completion = await client.chat.completions.create(hello)
    expect(completion.usage).toMatchObject({ prompt_tokens: 10.5, completion_tokens: -3 })
  })

  it("streams tool calls the SDK can assemble", async () => {
    fake.script({
      kind: "reply",
      reply: { toolCalls: [{ id: "call_1", name: "get_weather", arguments: { city: "Paris" } }] }
    })
    const stream = client.chat.completions.stream({
      ...hello,
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }]
    })
    const final = await stream.finalChatCompletion()
    expect(final.choices[0]?.finish_reason).toBe("tool_calls")
    expect(final.choices[0]?.message.tool_calls?.[0]).toMatchObject({
      id: "call_1",
      function: { name: "get_weather", arguments: '{"city":"Paris"}' }
    })
  })

  it("answers n choices, and applies stop sequences and max_tokens", async () => {
    const many = await client.chat.completions.create({ ...hello, n: 3 })
    expect(many.choices.map((choice) => choice.index)).toEqual([0, 1, 2])
    const stopped = await client.chat.completions.create({ ...hello, stop: ["there"] })
    expect(stopped.choices[0]?.message.content).toBe("Echo: Hi ")
    const short = await client.chat.completions.create({ ...hello, max_tokens: 1 })
    expect(short.choices[0]).toMatchObject({ finish_reason: "length", message: { content: "Echo: " } })
  })

  it("refuses what the real API refuses", async () => {
    const bad = [
      { ...hello, temperature: 2.5 },
      { ...hello, stream_options: { include_usage: true } },
      { ...hello, messages: [{ role: "tool" as const, tool_call_id: "call_x", content: "42" }] },
      { ...hello, tool_choice: "auto" as const }
    ]
    for (const request of bad) {
      await expect(client.chat.completions.create(request)).rejects.toBeInstanceOf(OpenAI.BadRequestError)
    }
  })

  it("gives each scripted failure the SDK's error class", async () => {
    const wrongKey = new OpenAI({ apiKey: "sk-wrong", baseURL: `${fake.url}/v1`, maxRetries: 0 })
    await expect(wrongKey.chat.completions.create(hello)).rejects.toMatchObject({
      status: 401,
      code: "invalid_api_key"
    })
    fake.script(
      { kind: "error", status: 429, headers: { "retry-after": "3" } },
      { kind: "error", status: 500 },
      { kind: "error", status: 404 }
    )
    const limited = await client.chat.completions.create(hello).catch((error: unknown) => error)
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError)
    expect((limited as InstanceType<typeof OpenAI.APIError>).headers?.get("retry-after")).toBe("3")
    await expect(client.chat.completions.create(hello)).rejects.toBeInstanceOf(OpenAI.InternalServerError)
    await expect(client.chat.completions.create(hello)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  })

  it("an error event inside a stream makes the SDK throw", async () => {
    fake.script({ kind: "streamError", afterEvents: 2, message: "boom" })
    const stream = await client.chat.completions.create({ ...hello, stream: true })
    await expect(
      (async () => {
        for await (const _ of stream) {
          // drain
        }
      })()
    ).rejects.toThrow("boom")
  })

  it("lists models in OpenAI's list shape", async () => {
    const page = await client.models.list()
    expect(page.data.map((model) => model.id)).toEqual(["gpt-4"])
  })

  it("serves embeddings the SDK decodes from base64 by default, and floats when asked", async () => {
    const decoded = await client.embeddings.create({ model: "text-embedding-3-small", input: "Hi there" })
    expect(fake.received.at(-1)?.body.encoding_format).toBe("base64")
    const floats = await client.embeddings.create({
      model: "text-embedding-3-small",
      input: "Hi there",
      encoding_format: "float"
    })
    expect(decoded.data[0]?.embedding).toEqual(fakeVector("text-embedding-3-small:Hi there", 1536))
    expect(floats.data[0]?.embedding).toEqual(decoded.data[0]?.embedding)
    expect(floats.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 })
    const short = await client.embeddings.create({ model: "text-embedding-3-large", input: ["a", "b"], dimensions: 8 })
    expect(short.data.map((item) => item.embedding.length)).toEqual([8, 8])
  })

  it("refuses for embeddings what the real API refuses: a bad key, unknown fields, empty input, dimensions on ada", async () => {
    const post = (body: object, key = "sk-test") =>
      fetch(`${fake.url}/v1/embeddings`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(body)
      })
    const model = "text-embedding-3-small"
    expect((await post({ model, input: "a" }, "nope")).status).toBe(401)
    for (const body of [
      { model, input: "a", temperature: 1 },
      { model, input: "" },
      { model, input: [] },
      { model, input: ["a", 1] },
      { model, input: "a", encoding_format: "hex" },
      { model, input: "a", dimensions: 1537 },
      { model: "text-embedding-ada-002", input: "a", dimensions: 8 }
    ]) {
      expect((await post(body)).status, JSON.stringify(body)).toBe(400)
    }
    expect((await post({ model: "gpt-4", input: "a" })).status).toBe(404)
  })
})
