/**
 * The Anthropic fake checked with the official `@anthropic-ai/sdk` (1.x), so that it
 * cannot drift from what the real API and its SDK do.
 */
import Anthropic from "@anthropic-ai/sdk"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { startAnthropicFake } from "./anthropic.ts"
import type { FakeUpstream } from "./FakeUpstream.ts"

let fake: FakeUpstream
let client: Anthropic
beforeAll(async () => {
  fake = await startAnthropicFake("sk-ant-test")
  client = new Anthropic({ apiKey: "sk-ant-test", baseURL: fake.url, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const hello = {
  model: "claude-3-haiku-20240307",
  max_tokens: 100,
  messages: [{ role: "user" as const, content: "Hi there" }]
}

/** Fields the 1.x typings dropped (they follow a newer API version) but the classic API takes. */
type Classic = Anthropic.MessageCreateParamsNonStreaming & Record<string, unknown>

describe("Anthropic fake, seen through the Anthropic SDK", () => {
  it("answers a message, accepting the 1.x SDK's Bearer auth and version", async () => {
    const message = await client.messages.create(hello)
    expect(message.content).toEqual([{ type: "text", text: "Echo: Hi there" }])
    expect(message.stop_reason).toBe("end_turn")
    expect(message.usage.output_tokens).toBe(3)
    expect(fake.received[0]?.headers).toMatchObject({
      authorization: "Bearer sk-ant-test",
      "anthropic-version": "2026-10-21"
    })
  })

  it("accepts the classic x-api-key and 2023-06-01 headers too", async () => {
    const classic = new Anthropic({
      apiKey: "sk-ant-test",
      baseURL: fake.url,
      maxRetries: 0,
      defaultHeaders: { "x-api-key": "sk-ant-test", authorization: null, "anthropic-version": "2023-06-01" }
    })
    await classic.messages.create(hello)
    expect(fake.received[0]?.headers["x-api-key"]).toBe("sk-ant-test")
    expect(fake.received[0]?.headers.authorization).toBeUndefined()
  })

  it("streams events the SDK assembles, tool use included", async () => {
    fake.script({
      kind: "reply",
      reply: {
        text: "Let me check.",
        toolCalls: [{ id: "toolu_1", name: "get_weather", arguments: { city: "Paris" } }]
      }
    })
    const stream = client.messages.stream({
      ...hello,
      tools: [{ name: "get_weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }]
    })
    const message = await stream.finalMessage()
    expect(message.content).toEqual([
      { type: "text", text: "Let me check." },
      { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } }
    ])
    expect(message.stop_reason).toBe("tool_use")
    expect(message.usage.output_tokens).toBe(13)
  })

  it("reports scripted cache reads and writes apart from input, in message_start and cumulatively at the end", async () => {
    const usage = { input: 100, output: 50, cacheRead: 1000, cacheWrite: 20, reasoning: 30 }
    fake.script({ kind: "reply", reply: { text: "Done.", usage } })
    const stream = client.messages.stream(hello)
    const starts: Array<Anthropic.Usage> = []
    stream.on("streamEvent", (event) => {
      // A copy: the SDK folds later deltas into the same message object.
      if (event.type === "message_start") starts.push({ ...event.message.usage })
    })
    const message = await stream.finalMessage()
    const cache = { cache_read_input_tokens: 1000, cache_creation_input_tokens: 20 }
    expect(starts).toEqual([expect.objectContaining({ input_tokens: 100, output_tokens: 1, ...cache })])
    expect(message.usage).toMatchObject({ input_tokens: 100, output_tokens: 50, ...cache })
  })

  it("ends on a stop sequence and reports it", async () => {
    const message = await client.messages.create({ ...hello, stop_sequences: ["there"] })
    expect(message).toMatchObject({ stop_reason: "stop_sequence", stop_sequence: "there" })
  })

  it("refuses what the real API refuses", async () => {
    const bad: ReadonlyArray<Record<string, unknown>> = [
      { ...hello, messages: [{ role: "system", content: "Be terse" }, ...hello.messages] },
      { model: hello.model, messages: hello.messages },
      { ...hello, temperature: 1.5 },
      { ...hello, messages: [{ role: "assistant", content: "Hello" }] },
      { ...hello, messages: [{ role: "user", content: [{ type: "text", text: "" }] }] },
      { ...hello, stop_sequences: ["\n"] },
      { ...hello, messages: [...hello.messages, { role: "assistant", content: "Sure " }] }
    ]
    for (const request of bad) {
      await expect(client.messages.create(request as Classic)).rejects.toBeInstanceOf(Anthropic.BadRequestError)
    }
  })

  it("gives each scripted failure the SDK's error class", async () => {
    fake.script(
      { kind: "error", status: 529 },
      { kind: "error", status: 429, headers: { "retry-after": "7" } },
      { kind: "error", status: 401 }
    )
    const overloaded = await client.messages.create(hello).catch((error: unknown) => error)
    expect(overloaded).toBeInstanceOf(Anthropic.OverloadedError)
    expect(overloaded).toMatchObject({ status: 529, type: "overloaded_error" })
    const limited = await client.messages.create(hello).catch((error: unknown) => error)
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError)
    await expect(client.messages.create(hello)).rejects.toBeInstanceOf(Anthropic.AuthenticationError)
  })

  it("an error event inside a stream makes the SDK throw", async () => {
    fake.script({ kind: "streamError", afterEvents: 3, message: "Overloaded" })
    await expect(client.messages.stream(hello).finalMessage()).rejects.toMatchObject({ type: "overloaded_error" })
  })
})
