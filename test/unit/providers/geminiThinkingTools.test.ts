/**
 * OpenAI requests → Gemini requests for current models, pure: reasoning_effort as thinkingConfig
 * per the catalog, penalties by the catalog's unsupported_parameters, signatures and Gemini's call
 * ids back where they were issued, PDF parts, and a conversation ending with the assistant.
 */
import { describe, expect, it } from "vitest"
import type { CatalogModel } from "../../../src/domain/Catalog.ts"
import type { ChatCompletionRequest, ChatMessage } from "../../../src/domain/Chat.ts"
import { toGenerateContentRequest } from "../../../src/providers/gemini/translateRequest.ts"
import { buildCatalog } from "../../../src/services/registry/ModelCatalog.ts"
import { geminiModels } from "../../../src/services/registry/models/gemini.ts"
import { failure, success } from "../../support/result.ts"

const catalog = buildCatalog(geminiModels, "built-in") as ReadonlyArray<CatalogModel>
const find = (id: string) => catalog.find((model) => model.id === id)!

const translate = (id: string, request: Partial<ChatCompletionRequest> & { messages: ReadonlyArray<ChatMessage> }) =>
  toGenerateContentRequest({ request: { model: id, ...request }, model: find(id), maxTokens: 1000, requestId: "r" })

const hi: Array<ChatMessage> = [{ role: "user", content: "Hi" }]
const thinkingOf = (id: string, effort: ChatCompletionRequest["reasoning_effort"]) =>
  success(translate(id, { messages: hi, reasoning_effort: effort })).generationConfig.thinkingConfig

describe("reasoning_effort → thinkingConfig", () => {
  it("Gemini 2.5 gets a budget, Gemini 3 a level, never both; summaries are asked for", () => {
    expect(thinkingOf("gemini-2.5-flash", "low")).toEqual({ thinkingBudget: 1024, includeThoughts: true })
    expect(thinkingOf("gemini-2.5-flash", "none")).toEqual({ thinkingBudget: 0 })
    expect(thinkingOf("gemini-2.5-pro", "minimal")).toEqual({ thinkingBudget: 128, includeThoughts: true })
    expect(thinkingOf("gemini-3-flash-preview", "medium")).toEqual({ thinkingLevel: "medium", includeThoughts: true })
    expect(thinkingOf("gemini-3.1-pro-preview", "minimal")).toEqual({ thinkingLevel: "low", includeThoughts: true })
    expect(thinkingOf("gemini-3-flash-preview", undefined)).toBeUndefined()
  })

  it("an effort the model lacks is refused naming reasoning_effort; a model that does not think drops it", () => {
    expect(failure(translate("gemini-2.5-pro", { messages: hi, reasoning_effort: "none" }))).toMatchObject({
      _tag: "Unsupported",
      param: "reasoning_effort",
      message: expect.stringContaining('"minimal", "low"')
    })
    expect(failure(translate("gemini-3.1-pro-preview", { messages: hi, reasoning_effort: "none" }))).toMatchObject({
      param: "reasoning_effort"
    })
    expect(thinkingOf("gemini-1.5-pro", "high")).toBeUndefined()
  })
})

describe("penalties", () => {
  it("Gemini 2.5 and 3 drop a penalty of 0 and refuse others; 1.5 takes them", () => {
    const zero = success(
      translate("gemini-3-flash-preview", { messages: hi, presence_penalty: 0, frequency_penalty: 0 })
    )
    expect(zero.generationConfig).toEqual({ maxOutputTokens: 1000 })
    expect(failure(translate("gemini-2.5-flash", { messages: hi, frequency_penalty: 0.2 }))).toMatchObject({
      _tag: "Unsupported",
      param: "frequency_penalty"
    })
    const old = success(translate("gemini-1.5-pro", { messages: hi, presence_penalty: 0 }))
    expect(old.generationConfig).toMatchObject({ presencePenalty: 0 })
  })
})

describe("tool loops", () => {
  const loop: Array<ChatMessage> = [
    { role: "user", content: "Weather in Paris and Oslo?" },
    {
      role: "assistant",
      content: null,
      reasoning_content: "I will call the tool twice.",
      tool_calls: [
        { id: "fc_7f3a__thought__c2lnbmF0dXJl+/==", type: "function", function: { name: "w", arguments: '{"c":"P"}' } },
        { id: "fc_9b21", type: "function", function: { name: "w", arguments: '{"c":"O"}' } }
      ]
    },
    { role: "tool", tool_call_id: "fc_7f3a__thought__c2lnbmF0dXJl+/==", content: "21C" },
    { role: "tool", tool_call_id: "fc_9b21", content: "3C" },
    {
      role: "assistant",
      content: null,
      tool_calls: [{ id: "call_1_0_0__thought__bW9yZQ==", type: "function", function: { name: "w", arguments: "{}" } }]
    },
    { role: "tool", tool_call_id: "call_1_0_0__thought__bW9yZQ==", content: "ok" }
  ]

  it("gives each signature back on the part it came with, and Gemini's own ids on calls and responses", () => {
    const body = success(translate("gemini-3-flash-preview", { messages: loop }))
    expect(body.contents.slice(1)).toEqual([
      {
        role: "model",
        parts: [
          { functionCall: { id: "fc_7f3a", name: "w", args: { c: "P" } }, thoughtSignature: "c2lnbmF0dXJl+/==" },
          { functionCall: { id: "fc_9b21", name: "w", args: { c: "O" } } }
        ]
      },
      {
        role: "user",
        parts: [
          { functionResponse: { id: "fc_7f3a", name: "w", response: { content: "21C" } } },
          { functionResponse: { id: "fc_9b21", name: "w", response: { content: "3C" } } }
        ]
      },
      { role: "model", parts: [{ functionCall: { name: "w", args: {} }, thoughtSignature: "bW9yZQ==" }] },
      { role: "user", parts: [{ functionResponse: { name: "w", response: { content: "ok" } } }] }
    ])
    // Reasoning text is for display: it never goes back to Gemini as text.
    expect(JSON.stringify(body)).not.toContain("I will call the tool twice")
  })
})

describe("messages", () => {
  it("sends a PDF file part inline, from a data: URL or bare base64 named .pdf; file ids are refused", () => {
    const body = success(
      translate("gemini-2.5-flash", {
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "Summarise" },
              { type: "file", file: { filename: "a.pdf", file_data: "data:application/pdf;base64,JVBERi0x" } },
              { type: "file", file: { filename: "b.PDF", file_data: "JVBERi0y" } }
            ]
          }
        ]
      })
    )
    expect(body.contents[0]?.parts).toEqual([
      { text: "Summarise" },
      { inlineData: { mimeType: "application/pdf", data: "JVBERi0x" } },
      { inlineData: { mimeType: "application/pdf", data: "JVBERi0y" } }
    ])
    const byId = translate("gemini-2.5-flash", {
      messages: [{ role: "user", content: [{ type: "file", file: { file_id: "file-abc" } }] }]
    })
    expect(failure(byId)).toMatchObject({ _tag: "Unsupported", param: "messages[0].content[0].file.file_id" })
  })

  it("a conversation ending with the assistant gets a user turn, so Gemini writes a new reply (no prefill)", () => {
    const body = success(
      translate("gemini-2.5-flash", {
        messages: [
          { role: "user", content: "Tell me a joke" },
          { role: "assistant", content: "Why did the" }
        ]
      })
    )
    expect(body.contents).toEqual([
      { role: "user", parts: [{ text: "Tell me a joke" }] },
      { role: "model", parts: [{ text: "Why did the" }] },
      { role: "user", parts: [{ text: "." }] }
    ])
  })
})

describe("structured outputs on models with JSON Schema", () => {
  it("sends response_format json_schema as responseJsonSchema with $defs and $ref kept, and tools as parametersJsonSchema", () => {
    const schema = {
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "object",
      properties: {
        kind: { const: "order" },
        items: { type: "array", items: { $ref: "#/definitions/Item" } },
        note: { anyOf: [{ type: "string" }, { type: "null" }], default: null },
        ship: { allOf: [{ $ref: "#/definitions/Address" }], description: "where to" }
      },
      required: ["kind", "items", "note", "ship"],
      additionalProperties: false,
      definitions: {
        Item: { type: "object", properties: { sku: { type: "string", minLength: 3 } }, required: ["sku"] },
        Address: {
          oneOf: [{ type: "string" }, { type: "object", properties: { city: { type: "string" } } }]
        }
      }
    }
    const body = success(
      translate("gemini-2.5-flash", {
        messages: hi,
        response_format: { type: "json_schema", json_schema: { name: "order", strict: true, schema } },
        tools: [{ type: "function", function: { name: "f", parameters: schema, strict: true } }]
      })
    )
    const expected = {
      type: "object",
      properties: {
        kind: { enum: ["order"] },
        items: { type: "array", items: { $ref: "#/$defs/Item" } },
        note: { anyOf: [{ type: "string" }, { type: "null" }] },
        ship: { $ref: "#/$defs/Address" }
      },
      required: ["kind", "items", "note", "ship"],
      additionalProperties: false,
      $defs: {
        Item: { type: "object", properties: { sku: { type: "string" } }, required: ["sku"] },
        Address: { oneOf: [{ type: "string" }, { type: "object", properties: { city: { type: "string" } } }] }
      }
    }
    expect(body.generationConfig).toEqual({
      maxOutputTokens: 1000,
      responseMimeType: "application/json",
      responseJsonSchema: expected
    })
    expect(body.tools?.[0]?.functionDeclarations[0]).toEqual({ name: "f", parametersJsonSchema: expected })
  })
})
