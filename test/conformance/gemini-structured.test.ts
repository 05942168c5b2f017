/**
 * Conformance: structured outputs through Gemini with the official `openai` SDK.
 * `client.chat.completions.parse()` with a nested schema that refers to its parts through `$defs`
 * (as zod and Pydantic write them) returns the parsed object; Gemini receives the schema as
 * `responseJsonSchema` with its references, or resolved into the OpenAPI subset on older models.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type Conformance, resetAll, startConformance } from "./support.ts"

let setup: Conformance
beforeAll(async () => {
  setup = await startConformance()
})
afterAll(() => setup.close())
beforeEach(() => resetAll(setup.upstreams))

/** An order with lines and an address, each a definition referred to by `$ref`, as zod's converter writes it. */
const schema = {
  type: "object",
  properties: {
    customer: { type: "string" },
    lines: { type: "array", items: { $ref: "#/definitions/Line" } },
    ship_to: { $ref: "#/definitions/Address" },
    note: { anyOf: [{ type: "string" }, { type: "null" }] }
  },
  required: ["customer", "lines", "ship_to", "note"],
  additionalProperties: false,
  definitions: {
    Line: {
      type: "object",
      properties: { sku: { type: "string" }, quantity: { type: "integer" } },
      required: ["sku", "quantity"],
      additionalProperties: false
    },
    Address: {
      type: "object",
      properties: { city: { type: "string" }, country: { type: "string", enum: ["FR", "NO"] } },
      required: ["city", "country"],
      additionalProperties: false
    }
  },
  $schema: "http://json-schema.org/draft-07/schema#"
}

const order = {
  customer: "Ada",
  lines: [
    { sku: "A-1", quantity: 2 },
    { sku: "B-7", quantity: 1 }
  ],
  ship_to: { city: "Oslo", country: "NO" },
  note: null
}

describe.each([
  ["gemini-2.5-flash", "responseJsonSchema"],
  ["gemini-3-flash-preview", "responseJsonSchema"],
  ["gemini-1.5-pro", "responseSchema"]
])("%s structured outputs", (model, field) => {
  it("parse() returns the parsed object of a nested schema", async () => {
    setup.upstreams.gemini.script({ kind: "reply", reply: { text: JSON.stringify(order) } })
    const completion = await setup.client.chat.completions.parse({
      model,
      messages: [{ role: "user", content: "Ada orders two A-1 and one B-7 to Oslo." }],
      response_format: { type: "json_schema", json_schema: { name: "order", strict: true, schema } }
    })
    expect(completion.choices[0]!.message.parsed).toEqual(order)
    const config = setup.upstreams.gemini.received[0]!.body.generationConfig
    expect(config.responseMimeType).toBe("application/json")
    expect(Object.keys(config)).toContain(field)
    if (field === "responseJsonSchema") {
      expect(config.responseJsonSchema.properties.ship_to).toEqual({ $ref: "#/$defs/Address" })
      expect(config.responseJsonSchema.$defs.Line.required).toEqual(["sku", "quantity"])
    } else {
      // The older subset cannot refer: the definitions are written in place.
      expect(config.responseSchema.properties.ship_to.properties.country).toEqual({
        type: "string",
        enum: ["FR", "NO"]
      })
      expect(config.responseSchema.properties.note).toEqual({ type: "string", nullable: true })
    }
  })
})

it("json_object asks Gemini for JSON without a schema", async () => {
  setup.upstreams.gemini.script({ kind: "reply", reply: { text: '{"ok":true}' } })
  const completion = await setup.client.chat.completions.create({
    model: "gemini-2.5-flash",
    messages: [{ role: "user", content: "Answer in JSON" }],
    response_format: { type: "json_object" }
  })
  expect(JSON.parse(completion.choices[0]!.message.content!)).toEqual({ ok: true })
  expect(setup.upstreams.gemini.received[0]!.body.generationConfig).toMatchObject({
    responseMimeType: "application/json"
  })
  expect(setup.upstreams.gemini.received[0]!.body.generationConfig).not.toHaveProperty("responseJsonSchema")
})
