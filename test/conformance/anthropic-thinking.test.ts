/**
 * Conformance: Claude's thinking through the official `openai` SDK. `reasoning_effort` reaches the
 * fake Anthropic as a thinking budget or an adaptive effort; the answer carries `reasoning_content`
 * and `thinking_blocks`; a client that appends the answer's message to its conversation runs a tool
 * loop the fake (which refuses a tool-use turn without its signed thinking block) accepts.
 */
import type OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type Conformance, resetAll, startConformance } from "./support.ts"

let setup: Conformance
beforeAll(async () => {
  setup = await startConformance()
})
afterAll(() => setup.close())
beforeEach(() => resetAll(setup.upstreams))

const fake = () => setup.upstreams.anthropic
const tools: Array<OpenAI.ChatCompletionFunctionTool> = [
  {
    type: "function",
    function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } }
  }
]
const question: OpenAI.ChatCompletionMessageParam = { role: "user", content: "Weather in Paris?" }
const weatherCall = {
  kind: "reply" as const,
  reply: { toolCalls: [{ id: "toolu_p1", name: "get_weather", arguments: { city: "Paris" } }] }
}

/** The fields the gateway adds to OpenAI's assistant message. */
interface WithThinking {
  readonly reasoning_content?: string
  readonly thinking_blocks?: ReadonlyArray<{ type: string; thinking?: string; signature?: string; data?: string }>
}

describe("Claude thinking through the gateway", () => {
  it("sends reasoning_effort to Claude Sonnet 4.5 as a thinking budget and returns the reasoning", async () => {
    const completion = await setup.client.chat.completions.create({
      model: "claude-sonnet-4-5",
      messages: [{ role: "user", content: "Why is the sky blue?" }],
      reasoning_effort: "medium",
      max_completion_tokens: 12000
    })
    expect(fake().received[0]?.body).toMatchObject({
      model: "claude-sonnet-4-5-20250929",
      max_tokens: 12000,
      thinking: { type: "enabled", budget_tokens: 8192 }
    })
    const message = completion.choices[0]!.message as OpenAI.ChatCompletionMessage & WithThinking
    expect(message.content).toBe("Echo: Why is the sky blue?")
    expect(message.reasoning_content).toBe("Thinking about: Why is the sky blue?")
    expect(message.thinking_blocks).toEqual([
      { type: "thinking", thinking: "Thinking about: Why is the sky blue?", signature: expect.any(String) }
    ])
  })

  it("sends reasoning_effort to Claude Opus 4.6 as adaptive thinking with an effort, streamed", async () => {
    const stream = await setup.client.chat.completions.create({
      model: "claude-opus-4-6",
      messages: [{ role: "user", content: "Plan a trip" }],
      reasoning_effort: "high",
      max_completion_tokens: 8000,
      stream: true
    })
    let reasoning = ""
    const blocks: Array<unknown> = []
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as (OpenAI.ChatCompletionChunk.Choice.Delta & WithThinking) | undefined
      reasoning += delta?.reasoning_content ?? ""
      blocks.push(...(delta?.thinking_blocks ?? []))
    }
    expect(fake().received[0]?.body).toMatchObject({
      thinking: { type: "adaptive" },
      output_config: { effort: "high" }
    })
    expect(reasoning).toBe("Thinking about: Plan a trip")
    expect(blocks).toEqual([{ type: "thinking", thinking: reasoning, signature: expect.any(String) }])
  })

  it("runs a tool loop with thinking over two turns, the thinking block going back before the tool use", async () => {
    fake().script(weatherCall, { kind: "reply", reply: { text: "It is 21°C in Paris." } })
    const messages: Array<OpenAI.ChatCompletionMessageParam> = [question]
    const request = { model: "claude-haiku-4-5", tools, reasoning_effort: "low" as const, max_completion_tokens: 8000 }
    const first = await setup.client.chat.completions.create({ ...request, messages })
    const asked = first.choices[0]!
    expect(asked.finish_reason).toBe("tool_calls")
    messages.push(asked.message)
    const call = asked.message.tool_calls![0]!
    messages.push({ role: "tool", tool_call_id: call.id, content: '{"temp": 21}' })
    const second = await setup.client.chat.completions.create({ ...request, messages })
    expect(second.choices[0]?.message.content).toBe("It is 21°C in Paris.")
    const followUp = fake().received[1]!.body
    expect(followUp.thinking).toEqual({ type: "enabled", budget_tokens: 2048 })
    expect(followUp.messages[1].content.map((block: { type: string }) => block.type)).toEqual(["thinking", "tool_use"])
    expect(followUp.messages[1].content[0]).toEqual((asked.message as WithThinking).thinking_blocks?.[0])
  })

  it("keeps a tool loop working when the client drops the thinking blocks: that turn runs without thinking", async () => {
    fake().script(weatherCall, { kind: "reply", reply: { text: "21°C." } })
    const request = { model: "claude-haiku-4-5", tools, reasoning_effort: "low" as const, max_completion_tokens: 8000 }
    const first = await setup.client.chat.completions.create({ ...request, messages: [question] })
    const { content, tool_calls } = first.choices[0]!.message
    const call = tool_calls![0]!
    const second = await setup.client.chat.completions.create({
      ...request,
      messages: [
        question,
        { role: "assistant", content, tool_calls },
        { role: "tool", tool_call_id: call.id, content: "21" }
      ]
    })
    expect(second.choices[0]?.message.content).toBe("21°C.")
    expect(fake().received[1]?.body.thinking).toEqual({ type: "disabled" })
  })
})
