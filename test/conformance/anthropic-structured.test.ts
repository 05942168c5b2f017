/**
 * Conformance: `client.chat.completions.parse()` with a nested JSON schema ($defs and $ref) returns
 * a parsed object from Claude, natively constrained on Claude Opus 4.6 and through the forced JSON
 * tool on Claude 3 Haiku; streamed, the content is that JSON; json_object answers JSON text too.
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

const person = {
  type: "object",
  properties: {
    name: { type: "string" },
    addresses: { type: "array", items: { $ref: "#/$defs/address" } }
  },
  required: ["name", "addresses"],
  additionalProperties: false,
  $defs: {
    address: {
      type: "object",
      properties: { city: { type: "string" }, country: { type: "string" } },
      required: ["city", "country"],
      additionalProperties: false
    }
  }
}
const responseFormat: OpenAI.ResponseFormatJSONSchema = {
  type: "json_schema",
  json_schema: { name: "person", schema: person, strict: true }
}
const ada = { name: "Ada Lovelace", addresses: [{ city: "London", country: "UK" }] }
const messages: Array<OpenAI.ChatCompletionMessageParam> = [{ role: "user", content: "Who wrote the first program?" }]

describe.each([
  { model: "claude-opus-4-6", method: "native" },
  { model: "claude-3", method: "tool" }
])("parse() on $model ($method)", ({ model, method }) => {
  it("returns the parsed object, plain and streamed", async () => {
    fake().script(
      { kind: "reply", reply: { text: JSON.stringify(ada) } },
      { kind: "reply", reply: { text: JSON.stringify(ada) } }
    )
    const parsed = await setup.client.chat.completions.parse({
      model,
      messages,
      response_format: responseFormat,
      max_tokens: 2000
    })
    expect(parsed.choices[0]?.finish_reason).toBe("stop")
    expect(parsed.choices[0]?.message.parsed).toEqual(ada)
    expect(parsed.choices[0]?.message.tool_calls ?? []).toEqual([])
    const streamed = await setup.client.chat.completions
      .stream({ model, messages, response_format: responseFormat, max_tokens: 2000 })
      .finalChatCompletion()
    // The SDK parses streamed answers only for its zod helpers; the content is the JSON all the same.
    expect(JSON.parse(streamed.choices[0]?.message.content ?? "")).toEqual(ada)
    expect(streamed.choices[0]?.finish_reason).toBe("stop")
    const sent = fake().received[0]!.body
    if (method === "native") {
      expect(sent.output_config).toEqual({ format: { type: "json_schema", schema: person } })
    } else {
      expect(sent.tool_choice).toEqual({ type: "tool", name: "json_response" })
      expect(sent.tools[0].input_schema).toEqual(person)
    }
  })
})

it("json_object on Claude Haiku 4.5 answers JSON text", async () => {
  fake().script({ kind: "reply", reply: { text: '{"answer": 42}' } })
  const completion = await setup.client.chat.completions.create({
    model: "claude-haiku-4-5",
    messages: [{ role: "user", content: "Answer in JSON." }],
    response_format: { type: "json_object" },
    max_tokens: 2000
  })
  expect(JSON.parse(completion.choices[0]?.message.content ?? "")).toEqual({ answer: 42 })
  expect(completion.choices[0]?.finish_reason).toBe("stop")
})
