/**
 * Schemas for models without JSON Schema support, said again in Gemini's OpenAPI subset instead of
 * losing what the subset cannot hold as written: references resolved, const, oneOf and allOf
 * restated, and objects without properties (refused by Gemini) left out.
 */
import { describe, expect, it } from "vitest"
import { geminiSchema } from "../../../src/providers/gemini/schemaSubset.ts"

describe("Gemini's OpenAPI subset", () => {
  it("resolves $ref from $defs and definitions, restates const, oneOf and allOf, and drops additionalProperties", () => {
    const schema = {
      type: "object",
      properties: {
        kind: { type: "string", const: "order" },
        lines: { type: "array", items: { $ref: "#/$defs/Line" } },
        ship: { allOf: [{ $ref: "#/definitions/Address" }], description: "where to" },
        pay: { oneOf: [{ type: "string" }, { type: "integer" }] },
        note: { anyOf: [{ type: "string" }, { type: "null" }] }
      },
      required: ["kind", "lines", "ship"],
      additionalProperties: false,
      $defs: { Line: { type: "object", properties: { sku: { type: "string" } }, additionalProperties: false } },
      definitions: { Address: { type: "object", properties: { city: { type: "string" } } } }
    }
    expect(geminiSchema(schema)).toEqual({
      type: "object",
      properties: {
        kind: { type: "string", enum: ["order"] },
        lines: { type: "array", items: { type: "object", properties: { sku: { type: "string" } } } },
        ship: { description: "where to", type: "object", properties: { city: { type: "string" } } },
        pay: { anyOf: [{ type: "string" }, { type: "integer" }] },
        note: { type: "string", nullable: true }
      },
      required: ["kind", "lines", "ship"]
    })
  })

  it("leaves out what the subset cannot say: a recursive reference and an object without properties", () => {
    const schema = {
      type: "object",
      properties: {
        name: { type: "string" },
        children: { type: "array", items: { $ref: "#/$defs/Node" } },
        extra: { type: "object", additionalProperties: { type: "string" } }
      },
      required: ["name", "extra"],
      $defs: {
        Node: {
          type: "object",
          properties: { name: { type: "string" }, kids: { type: "array", items: { $ref: "#/$defs/Node" } } }
        }
      }
    }
    expect(geminiSchema(schema)).toEqual({
      type: "object",
      properties: {
        name: { type: "string" },
        children: {
          type: "array",
          items: { type: "object", properties: { name: { type: "string" } } }
        }
      },
      required: ["name"]
    })
    expect(geminiSchema({ type: "object", properties: {} })).toBeUndefined()
  })
})
