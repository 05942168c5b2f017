/**
 * The Gemini field policy does what it says: every field of the request schema is listed, a
 * dropped field leaves no trace in the wire body, a refused one fails naming the field, and a
 * mapped one reaches Gemini's field.
 */
import { describe, expect, it } from "vitest"
import type { CatalogModel } from "../../../src/domain/Catalog.ts"
import { ChatCompletionFields, type ChatCompletionRequest, type ChatMessage } from "../../../src/domain/Chat.ts"
import { fieldPolicy } from "../../../src/providers/gemini/fieldPolicy.ts"
import { toGenerateContentRequest } from "../../../src/providers/gemini/translateRequest.ts"
import { buildCatalog } from "../../../src/services/registry/ModelCatalog.ts"
import { geminiModels } from "../../../src/services/registry/models/gemini.ts"
import { failure, success } from "../../support/result.ts"

const model = (buildCatalog(geminiModels, "built-in") as ReadonlyArray<CatalogModel>).find(
  (entry) => entry.id === "gemini-2.5-flash"
)!
const messages: ReadonlyArray<ChatMessage> = [{ role: "user", content: "Hi" }]
const translate = (fields: Partial<ChatCompletionRequest>) =>
  toGenerateContentRequest({ request: { model: model.id, messages, ...fields }, model, maxTokens: 100, requestId: "r" })
const plain = JSON.stringify(success(translate({})))

/** A value for each dropped field, which must leave the wire body as if it were absent. */
const dropped: Partial<ChatCompletionRequest> = {
  parallel_tool_calls: false,
  user: "user-1",
  verbosity: "low",
  store: true,
  metadata: { team: "a" },
  prediction: { type: "content", content: "Hello" },
  prompt_cache_key: "key-1",
  safety_identifier: "hash-1"
}

/** A value for each refused field, which must fail naming it. */
const refused: Partial<ChatCompletionRequest> = {
  logprobs: true,
  top_logprobs: 2,
  logit_bias: { "50256": -100 },
  service_tier: "flex",
  modalities: ["text", "audio"],
  audio: { voice: "alloy", format: "wav" },
  web_search_options: {},
  functions: [{ name: "f" }],
  function_call: "auto"
}

/** A value for each mapped field and where it lands in the wire body. */
const mapped: Array<[Partial<ChatCompletionRequest>, string]> = [
  [{ temperature: 0.3 }, '"temperature":0.3'],
  [{ top_p: 0.4 }, '"topP":0.4'],
  [{ n: 2 }, '"candidateCount":2'],
  [{ stop: "END" }, '"stopSequences":["END"]'],
  [{ seed: 7 }, '"seed":7'],
  [{ response_format: { type: "json_object" } }, '"responseMimeType":"application/json"'],
  [{ reasoning_effort: "low" }, '"thinkingBudget":1024'],
  [{ tools: [{ type: "function", function: { name: "f" } }] }, '"functionDeclarations":[{"name":"f"}]'],
  [
    { tools: [{ type: "function", function: { name: "f" } }], tool_choice: "required" },
    '"functionCallingConfig":{"mode":"ANY"}'
  ]
]

describe("Gemini field policy", () => {
  it("lists every field of the request schema, each with a one-sentence note", () => {
    expect(Object.keys(fieldPolicy).sort()).toEqual(Object.keys(ChatCompletionFields.fields).sort())
    for (const treatment of Object.values(fieldPolicy)) expect(treatment.note).toMatch(/^[A-Z"a-z].+\.$/)
  })

  it.each(Object.entries(dropped))("dropped %s leaves no trace in the wire body", (field, value) => {
    expect(fieldPolicy[field as keyof typeof fieldPolicy].treatment).toBe("dropped")
    expect(JSON.stringify(success(translate({ [field]: value })))).toBe(plain)
  })

  it.each(Object.entries(refused))("refused %s fails naming the field", (field, value) => {
    expect(fieldPolicy[field as keyof typeof fieldPolicy].treatment).toBe("refused")
    expect(failure(translate({ [field]: value }))).toMatchObject({ _tag: "Unsupported", param: field })
  })

  it("refused fields pass at their harmless values", () => {
    for (const fields of [
      { logprobs: false },
      { logit_bias: {} },
      { service_tier: "auto" },
      { modalities: ["text"] }
    ]) {
      expect(JSON.stringify(success(translate(fields)))).toBe(plain)
    }
  })

  it.each(mapped)("mapped %j reaches Gemini's field", (fields, wire) => {
    expect(JSON.stringify(success(translate(fields)))).toContain(wire)
  })
})
