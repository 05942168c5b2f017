/**
 * The Anthropic field policy is what the translator does: every request field is listed, a dropped
 * field leaves no trace in the wire body, a refused one fails naming the field (and is left out at
 * its neutral value), a mapped one reaches the body as Anthropic's field.
 */
import { describe, expect, it } from "vitest"
import { ChatCompletionFields } from "../../../src/domain/Chat.ts"
import { fieldPolicy } from "../../../src/providers/anthropic/fieldPolicy.ts"
import { failure, success } from "../../support/result.ts"
import { bodyFor, type TestRequest, user } from "./anthropicModels.ts"

const base: TestRequest = { messages: [user("Hi")] }
const model = "claude-sonnet-4-5"
const tools = [{ type: "function" as const, function: { name: "lookup", parameters: { type: "object" } } }]

/** A value of each dropped field. */
const dropped: Record<string, Partial<TestRequest>> = {
  seed: { seed: 987654321 },
  verbosity: { verbosity: "low" },
  store: { store: true },
  metadata: { metadata: { tag: "zz-metadata-zz" } },
  prediction: { prediction: { type: "content", content: "zz-prediction-zz" } },
  prompt_cache_key: { prompt_cache_key: "zz-cache-key-zz" }
}

/** A value each refused field is refused at, and its neutral value (left out), where it has one. */
const refused: Record<string, { bad: Partial<TestRequest>; neutral?: Partial<TestRequest> }> = {
  frequency_penalty: { bad: { frequency_penalty: 0.5 }, neutral: { frequency_penalty: 0 } },
  presence_penalty: { bad: { presence_penalty: -1 }, neutral: { presence_penalty: 0 } },
  n: { bad: { n: 3 }, neutral: { n: 1 } },
  logprobs: { bad: { logprobs: true }, neutral: { logprobs: false } },
  top_logprobs: { bad: { top_logprobs: 5 }, neutral: { top_logprobs: 0 } },
  logit_bias: { bad: { logit_bias: { "50256": -100 } }, neutral: { logit_bias: {} } },
  service_tier: { bad: { service_tier: "flex" }, neutral: { service_tier: "auto" } },
  modalities: { bad: { modalities: ["text", "audio"] }, neutral: { modalities: ["text"] } },
  audio: { bad: { audio: { voice: "alloy", format: "wav" } } },
  web_search_options: { bad: { web_search_options: {} } },
  functions: { bad: { functions: [{ name: "f" }] } },
  function_call: { bad: { function_call: "auto" } }
}

/** A value of each mapped field, and what Anthropic receives for it. */
const mapped: Record<string, { request: Partial<TestRequest>; expected: Record<string, unknown> }> = {
  messages: {
    request: { messages: [{ role: "system", content: "Terse." }, user("Hi")] },
    expected: { system: "Terse.", messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }] }
  },
  temperature: { request: { temperature: 0.3 }, expected: { temperature: 0.3 } },
  top_p: { request: { top_p: 0.8 }, expected: { top_p: 0.8 } },
  stop: { request: { stop: ["END"] }, expected: { stop_sequences: ["END"] } },
  tools: { request: { tools }, expected: { tools: [{ name: "lookup", input_schema: { type: "object" } }] } },
  tool_choice: { request: { tools, tool_choice: "required" }, expected: { tool_choice: { type: "any" } } },
  parallel_tool_calls: {
    request: { tools, parallel_tool_calls: false },
    expected: { tool_choice: { type: "auto", disable_parallel_tool_use: true } }
  },
  response_format: {
    request: { response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object" } } } },
    expected: { output_config: { format: { type: "json_schema", schema: { type: "object" } } } }
  },
  user: { request: { user: "u-1" }, expected: { metadata: { user_id: "u-1" } } },
  safety_identifier: { request: { user: "u-1", safety_identifier: "s-1" }, expected: { metadata: { user_id: "s-1" } } },
  reasoning_effort: {
    request: { reasoning_effort: "low" },
    expected: { thinking: { type: "enabled", budget_tokens: 2048 } }
  }
}

describe("Anthropic field policy", () => {
  it("lists every field of the request schema, each with a one-sentence note", () => {
    expect(Object.keys(fieldPolicy).sort()).toEqual(Object.keys(ChatCompletionFields.fields).sort())
    for (const treatment of Object.values(fieldPolicy)) expect(treatment.note).toMatch(/^\S.*\.$/)
  })

  it("has a test case for every dropped, refused and mapped field", () => {
    const fields = (kind: string) =>
      Object.entries(fieldPolicy)
        .filter(([, treatment]) => treatment.treatment === kind)
        .map(([field]) => field)
        .sort()
    expect(fields("dropped")).toEqual(Object.keys(dropped).sort())
    expect(fields("refused")).toEqual(Object.keys(refused).sort())
    expect(fields("mapped")).toEqual(Object.keys(mapped).sort())
  })

  it.each(Object.entries(dropped))("drops %s without a trace: the wire body is the one without it", (_, extra) => {
    expect(success(bodyFor(model, { ...base, ...extra }))).toEqual(success(bodyFor(model, base)))
  })

  it.each(Object.entries(refused))(
    "refuses %s naming it, and leaves its neutral value out",
    (field, { bad, neutral }) => {
      expect(failure(bodyFor(model, { ...base, ...bad }))).toMatchObject({ _tag: "Unsupported", param: field })
      if (neutral !== undefined)
        expect(success(bodyFor(model, { ...base, ...neutral }))).toEqual(success(bodyFor(model, base)))
    }
  )

  it.each(Object.entries(mapped))("maps %s to Anthropic's field", (_, { request, expected }) => {
    expect(success(bodyFor(model, { ...base, ...request }))).toMatchObject(expected)
  })
})
