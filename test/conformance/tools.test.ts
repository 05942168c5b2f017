/**
 * Conformance: tool calls round trip through each provider — the upstream asks for a
 * call, the client gets OpenAI tool_calls (plain and streamed), sends the result back,
 * and the upstream receives both in its own shape.
 */
import type OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type Conformance, models, resetAll, startConformance } from "./support.ts"

let setup: Conformance
beforeAll(async () => {
  setup = await startConformance()
})
afterAll(() => setup.close())
beforeEach(() => resetAll(setup.upstreams))

const tools: Array<OpenAI.ChatCompletionFunctionTool> = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Weather in a city",
      parameters: {
        type: "object",
        properties: { city: { type: "string" } },
        required: ["city"],
        additionalProperties: false
      }
    }
  }
]
const question: OpenAI.ChatCompletionMessageParam = { role: "user", content: "Weather in Paris?" }
const call = { reply: { toolCalls: [{ id: "call_up_1", name: "get_weather", arguments: { city: "Paris" } }] } }

describe.each(models)("$model tool calls", ({ model, vendor }) => {
  const fake = () => setup.upstreams[vendor]

  it("returns tool_calls, streamed or not, and takes the result back", async () => {
    fake().script({ kind: "reply", ...call }, { kind: "reply", ...call })
    const plain = await setup.client.chat.completions.create({
      model,
      messages: [question],
      tools,
      tool_choice: "required"
    })
    const asked = plain.choices[0]!
    expect(asked.finish_reason).toBe("tool_calls")
    expect(asked.message.tool_calls).toHaveLength(1)
    const toolCall = asked.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall
    expect(toolCall).toMatchObject({ type: "function", function: { name: "get_weather" } })
    expect(JSON.parse(toolCall.function.arguments)).toEqual({ city: "Paris" })
    expect(typeof toolCall.id).toBe("string")

    const streamed = await setup.client.chat.completions
      .stream({ model, messages: [question], tools, tool_choice: "required" })
      .finalChatCompletion()
    expect(streamed.choices[0]?.finish_reason).toBe("tool_calls")
    const streamedCall = streamed.choices[0]?.message.tool_calls?.[0] as OpenAI.ChatCompletionMessageFunctionToolCall
    expect(JSON.parse(streamedCall.function.arguments)).toEqual({ city: "Paris" })

    const requestBody = fake().received[0]!.body
    if (vendor === "openai") {
      expect(requestBody.tools).toEqual(tools)
      expect(requestBody.tool_choice).toBe("required")
    }
    if (vendor === "anthropic") {
      expect(requestBody.tools).toEqual([
        { name: "get_weather", description: "Weather in a city", input_schema: tools[0]!.function.parameters }
      ])
      expect(requestBody.tool_choice).toEqual({ type: "any" })
    }
    if (vendor === "gemini") {
      expect(requestBody.tools).toEqual([
        {
          functionDeclarations: [
            {
              name: "get_weather",
              description: "Weather in a city",
              parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
            }
          ]
        }
      ])
      expect(requestBody.toolConfig).toEqual({ functionCallingConfig: { mode: "ANY" } })
    }

    fake().script({ kind: "reply", reply: { text: "It is 21°C in Paris." } })
    const answer = await setup.client.chat.completions.create({
      model,
      tools,
      messages: [
        question,
        { role: "assistant", content: null, tool_calls: [toolCall] },
        { role: "tool", tool_call_id: toolCall.id, content: '{"temp": 21}' }
      ]
    })
    expect(answer.choices[0]?.message.content).toBe("It is 21°C in Paris.")
    const followUp = fake().received.at(-1)!.body
    if (vendor === "openai") {
      expect(followUp.messages.at(-1)).toEqual({ role: "tool", tool_call_id: toolCall.id, content: '{"temp": 21}' })
      expect(followUp.messages[1].tool_calls[0].function.arguments).toBe(toolCall.function.arguments)
    }
    if (vendor === "anthropic") {
      expect(followUp.messages).toEqual([
        { role: "user", content: [{ type: "text", text: "Weather in Paris?" }] },
        {
          role: "assistant",
          content: [{ type: "tool_use", id: toolCall.id, name: "get_weather", input: { city: "Paris" } }]
        },
        { role: "user", content: [{ type: "tool_result", tool_use_id: toolCall.id, content: '{"temp": 21}' }] }
      ])
    }
    if (vendor === "gemini") {
      expect(followUp.contents).toEqual([
        { role: "user", parts: [{ text: "Weather in Paris?" }] },
        { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" } } }] },
        { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { content: '{"temp": 21}' } } }] }
      ])
    }
  })

  it("streams tool-call deltas with index, and id, type and name on the first", async () => {
    fake().script({
      kind: "reply",
      reply: {
        text: vendor === "gemini" ? undefined : "Checking.",
        toolCalls: [
          { id: "call_a", name: "get_weather", arguments: { city: "Paris" } },
          { id: "call_b", name: "get_weather", arguments: { city: "Oslo" } }
        ]
      }
    })
    const stream = await setup.client.chat.completions.create({ model, messages: [question], tools, stream: true })
    const deltas: Array<OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall> = []
    for await (const chunk of stream) deltas.push(...(chunk.choices[0]?.delta.tool_calls ?? []))
    const firstOf = (index: number) => deltas.find((delta) => delta.index === index)
    expect(firstOf(0)).toMatchObject({ type: "function", function: { name: "get_weather" } })
    expect(firstOf(1)).toMatchObject({ type: "function", function: { name: "get_weather" } })
    expect(typeof firstOf(0)?.id).toBe("string")
    expect(firstOf(0)?.id).not.toBe(firstOf(1)?.id)
    const argumentsOf = (index: number) =>
      deltas
        .filter((delta) => delta.index === index)
        .map((delta) => delta.function?.arguments ?? "")
        .join("")
    expect(JSON.parse(argumentsOf(0))).toEqual({ city: "Paris" })
    expect(JSON.parse(argumentsOf(1))).toEqual({ city: "Oslo" })
  })
})
