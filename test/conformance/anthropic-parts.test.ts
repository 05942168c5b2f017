/**
 * Conformance: a PDF `file` part reaches the fake Anthropic as a document block; a tool called
 * without arguments streams `arguments: "{}"`; a conversation ending with an assistant message gets
 * a new reply on models that refuse prefill.
 */
import type OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest"
import { type Conformance, resetAll, startConformance } from "./support.ts"

let setup: Conformance
beforeAll(async () => {
  setup = await startConformance()
})
afterAll(() => setup.close())
beforeEach(() => resetAll(setup.upstreams))

const fake = () => setup.upstreams.anthropic
const pdf = "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKJSVFT0YK"

it("sends a PDF file part to Claude as a document block", async () => {
  const completion = await setup.client.chat.completions.create({
    model: "claude-sonnet-4-5",
    max_tokens: 1000,
    messages: [
      {
        role: "user",
        content: [
          { type: "file", file: { filename: "report.pdf", file_data: `data:application/pdf;base64,${pdf}` } },
          { type: "text", text: "Summarise it." }
        ]
      }
    ]
  })
  expect(completion.choices[0]?.message.content).toBe("Echo: Summarise it.")
  expect(fake().received[0]?.body.messages[0].content[0]).toEqual({
    type: "document",
    source: { type: "base64", media_type: "application/pdf", data: pdf },
    title: "report.pdf"
  })
})

it("streams a tool called without arguments with arguments {}", async () => {
  fake().script({ kind: "reply", reply: { toolCalls: [{ id: "toolu_now", name: "current_time", arguments: {} }] } })
  const tools: Array<OpenAI.ChatCompletionFunctionTool> = [
    { type: "function", function: { name: "current_time", parameters: { type: "object", properties: {} } } }
  ]
  const completion = await setup.client.chat.completions
    .stream({ model: "claude-haiku-4-5", max_tokens: 1000, messages: [{ role: "user", content: "Time?" }], tools })
    .finalChatCompletion()
  const call = completion.choices[0]?.message.tool_calls?.[0] as OpenAI.ChatCompletionMessageFunctionToolCall
  expect(call.function).toMatchObject({ name: "current_time", arguments: "{}" })
})

it("answers a conversation that ends with an assistant message with a new reply on Claude Opus 4.6", async () => {
  const completion = await setup.client.chat.completions.create({
    model: "claude-opus-4-6",
    max_tokens: 1000,
    messages: [
      { role: "user", content: "Tell me a joke." },
      { role: "assistant", content: "Why did the chicken cross the road?" }
    ]
  })
  expect(completion.choices[0]?.finish_reason).toBe("stop")
  expect(fake().received[0]?.body.messages.at(-1)).toEqual({ role: "user", content: [{ type: "text", text: "." }] })
})
