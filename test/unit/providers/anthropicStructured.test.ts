/**
 * response_format on Claude: native JSON-schema output where the catalog says the model has it, the
 * forced JSON tool elsewhere (and for json_object), and that tool's input unwrapped into the message
 * content, whole and streamed, over recorded answers.
 */
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { streamTranslator, toChatCompletion } from "../../../src/providers/anthropic/translateResponse.ts"
import { Message } from "../../../src/providers/anthropic/wire.ts"
import { translateAll } from "../../../src/providers/StreamTranslator.ts"
import { jsonFixture, sseFixture } from "../../support/fixtures.ts"
import { failure, success } from "../../support/result.ts"
import { callFor, user } from "./anthropicModels.ts"

const person = {
  type: "object",
  properties: { name: { type: "string" }, address: { $ref: "#/$defs/address" } },
  required: ["name", "address"],
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
const jsonSchema = { type: "json_schema" as const, json_schema: { name: "person", schema: person, strict: true } }
const ask = [user("Who wrote the first program?")]

describe("response_format → Anthropic", () => {
  it("sends json_schema as output_config.format on models with structured outputs, $defs and all", () => {
    const call = success(callFor("claude-opus-4-6", { messages: ask, response_format: jsonSchema }))
    expect(call.jsonTool).toBe(false)
    expect(call.body.output_config).toEqual({ format: { type: "json_schema", schema: person } })
    expect(call.body).not.toHaveProperty("tools")
    const thinking = success(
      callFor("claude-opus-4-6", { messages: ask, response_format: jsonSchema, reasoning_effort: "low" })
    )
    expect(thinking.body.output_config).toEqual({ effort: "low", format: { type: "json_schema", schema: person } })
  })

  it("forces a JSON tool on models without, and for json_object on every model", () => {
    const call = success(callFor("claude-3", { messages: ask, response_format: jsonSchema }, 4096))
    expect(call.jsonTool).toBe(true)
    expect(call.body.tools).toEqual([
      { name: "json_response", description: "Answer with person.", input_schema: person }
    ])
    expect(call.body.tool_choice).toEqual({ type: "tool", name: "json_response" })
    const object = success(callFor("claude-sonnet-4-5", { messages: ask, response_format: { type: "json_object" } }))
    expect(object.body.tools).toEqual([
      { name: "json_response", description: "Answer with a JSON object.", input_schema: { type: "object" } }
    ])
  })

  it("lets the client's tools be called alongside the JSON tool, and refuses a root that is not an object", () => {
    const tools = [{ type: "function" as const, function: { name: "lookup", parameters: { type: "object" } } }]
    const call = success(callFor("claude-3", { messages: ask, response_format: jsonSchema, tools }, 4096))
    expect(call.body.tools?.map((tool) => tool.name)).toEqual(["lookup", "json_response"])
    expect(call.body.tool_choice).toEqual({ type: "any" })
    const list = { ...jsonSchema, json_schema: { name: "names", schema: { type: "array" } } }
    expect(failure(callFor("claude-3", { messages: ask, response_format: list }, 4096))).toMatchObject({
      param: "response_format"
    })
  })

  const context = { created: 1717000000, model: "claude-3" }
  const expected = { name: "Ada", address: { city: "London", country: "UK" } }

  it("returns a native answer's JSON text as the content", () => {
    const message = Schema.decodeUnknownSync(Message)(jsonFixture("anthropic/message-structured.json"))
    const choice = success(toChatCompletion(message, context)).choices[0]!
    expect(JSON.parse(choice.message.content ?? "")).toEqual(expected)
    expect(choice.finish_reason).toBe("stop")
  })

  it("unwraps the JSON tool's input into the content, finishing with stop, whole and streamed", () => {
    const message = Schema.decodeUnknownSync(Message)(jsonFixture("anthropic/message-json-tool.json"))
    const choice = success(toChatCompletion(message, context, { jsonTool: true })).choices[0]!
    expect(choice.message).toEqual({ role: "assistant", content: JSON.stringify(expected) })
    expect(choice.finish_reason).toBe("stop")

    const events = sseFixture("anthropic/stream-json-tool.sse").map((event) => JSON.parse(event.data))
    const chunks = success(translateAll(streamTranslator({ ...context, id: "c" }, { jsonTool: true }), events))
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")
    expect(JSON.parse(text)).toEqual({ name: "Ada", address: { city: "London" } })
    expect(chunks.some((chunk) => chunk.choices[0]?.delta.tool_calls !== undefined)).toBe(false)
    expect(chunks.map((chunk) => chunk.choices[0]?.finish_reason).filter(Boolean)).toEqual(["stop"])
  })

  it("without the JSON tool flag, the same answer stays a tool call (a client tool of that name is refused at the request)", () => {
    const message = Schema.decodeUnknownSync(Message)(jsonFixture("anthropic/message-json-tool.json"))
    expect(success(toChatCompletion(message, context)).choices[0]?.finish_reason).toBe("tool_calls")
    const clash = [{ type: "function" as const, function: { name: "json_response" } }]
    expect(
      failure(callFor("claude-3", { messages: ask, response_format: jsonSchema, tools: clash }, 4096))
    ).toMatchObject({ param: "tools" })
  })
})
