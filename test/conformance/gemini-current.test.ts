/**
 * Conformance for today's Gemini models, with the official `openai` SDK as the client: a Gemini 3
 * tool loop of three turns whose thought signatures survive the round trips, reasoning_effort
 * reaching Gemini as a thinking budget or level (and thought summaries coming back), penalties at 0
 * dropped and others refused, PDF parts, and an answer Gemini could not finish.
 */
import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type Conformance, resetAll, startConformance } from "./support.ts"

let setup: Conformance
beforeAll(async () => {
  setup = await startConformance()
})
afterAll(() => setup.close())
beforeEach(() => resetAll(setup.upstreams))

const gemini = () => setup.upstreams.gemini
const tools: Array<OpenAI.ChatCompletionFunctionTool> = [
  {
    type: "function",
    function: {
      name: "get_weather",
      parameters: {
        type: "object",
        properties: { city: { type: "string" } },
        required: ["city"],
        additionalProperties: false
      },
      strict: true
    }
  }
]
const calls = (city: string) => ({
  kind: "reply" as const,
  reply: { toolCalls: [{ name: "get_weather", arguments: { city } }] }
})

// biome-ignore lint: wire bodies are read freely
const functionCallParts = (body: any): Array<{ thoughtSignature?: string }> =>
  body.contents.flatMap((content: { parts: Array<object> }) => content.parts.filter((part) => "functionCall" in part))

describe("Gemini 3 tool loop", () => {
  it("runs three turns: each signature goes back with its call, as unchanged OpenAI clients send it", async () => {
    gemini().script(calls("Paris"), calls("Oslo"), { kind: "reply", reply: { text: "Paris 21C, Oslo 3C." } })
    const model = "gemini-3-flash-preview"
    const messages: Array<OpenAI.ChatCompletionMessageParam> = [
      { role: "user", content: "Weather in Paris, then Oslo?" }
    ]

    const first = await setup.client.chat.completions.create({ model, messages, tools })
    const firstCall = first.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall
    expect(first.choices[0]!.finish_reason).toBe("tool_calls")
    expect(firstCall.id).toContain("__thought__")
    messages.push(first.choices[0]!.message, { role: "tool", tool_call_id: firstCall.id, content: "21C" })

    // The second turn streams: the SDK assembles the call, id and signature included.
    const second = await setup.client.chat.completions.stream({ model, messages, tools }).finalChatCompletion()
    const secondCall = second.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall
    expect(JSON.parse(secondCall.function.arguments)).toEqual({ city: "Oslo" })
    messages.push(second.choices[0]!.message, { role: "tool", tool_call_id: secondCall.id, content: "3C" })

    const third = await setup.client.chat.completions.create({ model, messages, tools })
    expect(third.choices[0]!.message.content).toBe("Paris 21C, Oslo 3C.")

    const received = gemini().received.map((request) => functionCallParts(request.body))
    expect(received.map((parts) => parts.length)).toEqual([0, 1, 2])
    for (const parts of received) for (const part of parts) expect(part.thoughtSignature).toMatch(/^[A-Za-z0-9+/]+=*$/)
    expect(received[2]![0]!.thoughtSignature).toBe(received[1]![0]!.thoughtSignature)
  })

  it("a client that drops the signature meets Gemini's refusal as a 400", async () => {
    gemini().script(calls("Paris"))
    const model = "gemini-3-flash-preview"
    const question: OpenAI.ChatCompletionMessageParam = { role: "user", content: "Weather in Paris?" }
    const first = await setup.client.chat.completions.create({ model, messages: [question], tools })
    const call = first.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall
    const bare = { ...call, id: "call_rewritten" }
    const error = await setup.client.chat.completions
      .create({
        model,
        tools,
        messages: [
          question,
          { role: "assistant", content: null, tool_calls: [bare] },
          { role: "tool", tool_call_id: bare.id, content: "21C" }
        ]
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).message).toContain("thought_signature")
  })
})

describe("reasoning_effort and thought summaries", () => {
  it("reaches Gemini 2.5 as thinkingBudget and Gemini 3 as thinkingLevel; summaries come back as reasoning_content", async () => {
    const flash = await setup.client.chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [{ role: "user", content: "Why is the sky blue?" }],
      reasoning_effort: "low"
    })
    const three = await setup.client.chat.completions.create({
      model: "gemini-3-flash-preview",
      messages: [{ role: "user", content: "Why is the sky blue?" }],
      reasoning_effort: "high"
    })
    const configs = gemini().received.map((request) => request.body.generationConfig.thinkingConfig)
    expect(configs).toEqual([
      { thinkingBudget: 1024, includeThoughts: true },
      { thinkingLevel: "high", includeThoughts: true }
    ])
    for (const answer of [flash, three]) {
      const message = answer.choices[0]!.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string }
      expect(message.reasoning_content).toBe("Thinking about: Why is the sky blue?")
      expect(message.content).toBe("Echo: Why is the sky blue?")
    }
  })

  it("streams the summary as delta.reasoning_content before the answer", async () => {
    const stream = await setup.client.chat.completions.create({
      model: "gemini-3-flash-preview",
      messages: [{ role: "user", content: "Why?" }],
      reasoning_effort: "low",
      stream: true
    })
    const reasoning: Array<string> = []
    const content: Array<string> = []
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined
      if (delta?.reasoning_content !== undefined) reasoning.push(delta.reasoning_content)
      if (typeof delta?.content === "string" && delta.content !== "") content.push(delta.content)
    }
    expect(reasoning).toEqual(["Thinking about: Why?"])
    expect(content.join("")).toBe("Echo: Why?")
  })

  it("an effort the model lacks is a 400 naming reasoning_effort", async () => {
    const error = await setup.client.chat.completions
      .create({ model: "gemini-2.5-pro", messages: [{ role: "user", content: "Hi" }], reasoning_effort: "none" })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("reasoning_effort")
    expect(gemini().received).toHaveLength(0)
  })
})

describe("penalties on Gemini 2.5 and 3", () => {
  it("drops penalties of 0, which Gemini would refuse, and refuses others with a 400 naming the field", async () => {
    const answer = await setup.client.chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [{ role: "user", content: "Hi" }],
      presence_penalty: 0,
      frequency_penalty: 0
    })
    expect(answer.choices[0]!.message.content).toBe("Echo: Hi")
    expect(gemini().received[0]!.body.generationConfig).not.toHaveProperty("presencePenalty")
    const error = await setup.client.chat.completions
      .create({ model: "gemini-3-flash-preview", messages: [{ role: "user", content: "Hi" }], presence_penalty: 0.5 })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("presence_penalty")
    expect(gemini().received).toHaveLength(1)
  })
})

describe("documents and failed answers", () => {
  it("sends a PDF file part to Gemini inline as application/pdf", async () => {
    const pdf = Buffer.from("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF").toString("base64")
    await setup.client.chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Summarise this" },
            { type: "file", file: { filename: "report.pdf", file_data: `data:application/pdf;base64,${pdf}` } }
          ]
        }
      ]
    })
    expect(gemini().received[0]!.body.contents[0].parts).toEqual([
      { text: "Summarise this" },
      { inlineData: { mimeType: "application/pdf", data: pdf } }
    ])
  })

  it("a MALFORMED_FUNCTION_CALL answer is a 502 upstream error, not an empty success", async () => {
    const malformed = {
      candidates: [{ content: {}, finishReason: "MALFORMED_FUNCTION_CALL", index: 0 }],
      usageMetadata: { promptTokenCount: 12, totalTokenCount: 12 }
    }
    gemini().script({ kind: "raw", status: 200, body: JSON.stringify(malformed) })
    const error = await setup.client.chat.completions
      .create({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "Weather?" }], tools })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502)
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain("MALFORMED_FUNCTION_CALL")
  })
})
