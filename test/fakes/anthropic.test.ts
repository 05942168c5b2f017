/**
 * The Anthropic fake checked with the official `@anthropic-ai/sdk` (1.x), so that it
 * cannot drift from what the real API and its SDK do.
 */
import Anthropic from "@anthropic-ai/sdk"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { startAnthropicFake } from "./anthropic.ts"
import { redactedThinkingTrigger, signatureOf } from "./anthropicRules.ts"
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

describe("Anthropic fake, current models", () => {
  const create = (body: Record<string, unknown>) =>
    client.messages.create({ max_tokens: 4096, messages: hello.messages, ...body } as Classic)
  const refused = async (body: Record<string, unknown>, message: string | RegExp) => {
    const error = await create(body).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(Anthropic.BadRequestError)
    expect((error as InstanceType<typeof Anthropic.BadRequestError>).message).toMatch(message)
  }
  const sonnet45 = "claude-sonnet-4-5-20250929"

  it("refuses temperature with top_p from Claude 4.5 on, and still serves claude-3 with both", async () => {
    await refused({ model: sonnet45, temperature: 0.5, top_p: 0.9 }, "cannot both be specified")
    await expect(create({ model: hello.model, temperature: 0.5, top_p: 0.9 })).resolves.toMatchObject({
      stop_reason: "end_turn"
    })
  })

  it("serves thinking blocks with signatures, redacted thinking on Anthropic's trigger, and refuses bad budgets", async () => {
    const thinking = { type: "enabled", budget_tokens: 2048 }
    const message = await create({ model: sonnet45, thinking })
    expect(message.content[0]).toMatchObject({ type: "thinking", thinking: "Thinking about: Hi there" })
    expect(message.content[0]).toHaveProperty("signature")
    const redacted = await create({
      model: sonnet45,
      thinking,
      messages: [{ role: "user", content: redactedThinkingTrigger }]
    })
    expect(redacted.content[0]).toMatchObject({ type: "redacted_thinking" })
    await refused({ model: sonnet45, thinking: { type: "enabled", budget_tokens: 4096 } }, "greater than `thinking")
    await refused({ model: sonnet45, thinking: { type: "enabled", budget_tokens: 500 } }, "1024")
    await refused({ model: "claude-opus-5", thinking }, "not supported for this model")
    await refused({ model: sonnet45, thinking: { type: "adaptive" } }, "adaptive is not supported")
    await refused({ model: hello.model, thinking }, "does not support extended thinking")
  })

  it("streams thinking as thinking and signature deltas the SDK assembles", async () => {
    const stream = client.messages.stream({
      ...hello,
      model: "claude-opus-4-6",
      max_tokens: 4096,
      thinking: { type: "adaptive" },
      output_config: { effort: "low" }
    } as unknown as Anthropic.MessageStreamParams)
    const message = await stream.finalMessage()
    expect(message.content.map((block) => block.type)).toEqual(["thinking", "text"])
    expect(message.content[0]).toMatchObject({ signature: expect.any(String) })
  })

  it("refuses sampling and forced tools while thinking, and sampling on the newest models", async () => {
    const thinking = { type: "enabled", budget_tokens: 2048 }
    await refused({ model: sonnet45, thinking, temperature: 0.3 }, "only be set to 1")
    await refused({ model: sonnet45, thinking, top_p: 0.5 }, "0.95")
    const tools = [{ name: "f", input_schema: { type: "object" } }]
    await refused({ model: sonnet45, thinking, tools, tool_choice: { type: "any" } }, "forces tool use")
    await refused({ model: "claude-opus-5", temperature: 0.3 }, "default of 1")
    await expect(create({ model: "claude-opus-5", temperature: 1 })).resolves.toBeDefined()
  })

  it("refuses a tool-use turn without its thinking block, a tampered signature, and prefill from Claude 4.6", async () => {
    const thinking = { type: "enabled", budget_tokens: 2048 }
    const toolUse = { type: "tool_use", id: "toolu_1", name: "f", input: {} }
    const loop = (assistant: ReadonlyArray<Record<string, unknown>>) => [
      { role: "user", content: "Go" },
      { role: "assistant", content: assistant },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "done" }] }
    ]
    const tools = [{ name: "f", input_schema: { type: "object" } }]
    await refused({ model: sonnet45, thinking, tools, messages: loop([toolUse]) }, "Expected `thinking`")
    const forged = { type: "thinking", thinking: "I made this up", signature: "c2lnbmF0dXJl" }
    await refused({ model: sonnet45, thinking, tools, messages: loop([forged, toolUse]) }, "Invalid `signature`")
    const signed = { type: "thinking", thinking: "Plan", signature: signatureOf("Plan") }
    await expect(create({ model: sonnet45, thinking, tools, messages: loop([signed, toolUse]) })).resolves.toBeDefined()
    await refused({ model: sonnet45, tools, messages: [...loop([signed, toolUse]).slice(0, 2)] }, "final position")
    const prefill = [...hello.messages, { role: "assistant", content: "Sure" }]
    await refused({ model: "claude-sonnet-4-6", messages: prefill }, "prefill")
    await expect(create({ model: sonnet45, messages: prefill })).resolves.toBeDefined()
  })

  it("takes JSON-schema output formats from Claude 4.5 on, and PDF documents", async () => {
    const format = { type: "json_schema", schema: { type: "object", properties: {} } }
    fake.script({ kind: "reply", reply: { text: '{"ok":true}' } })
    const json = await create({ model: sonnet45, output_config: { format } })
    expect(json.content).toEqual([{ type: "text", text: '{"ok":true}' }])
    await refused({ model: hello.model, output_config: { format } }, "structured outputs")
    const pdf = { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0xLjQK" } }
    await expect(
      create({ model: sonnet45, messages: [{ role: "user", content: [pdf, { type: "text", text: "Summary?" }] }] })
    ).resolves.toBeDefined()
    const notPdf = { ...pdf, source: { ...pdf.source, media_type: "image/png" } }
    await refused({ model: sonnet45, messages: [{ role: "user", content: [notPdf] }] }, "application/pdf")
  })
})
