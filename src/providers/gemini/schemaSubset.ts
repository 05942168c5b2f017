/**
 * Gemini takes function parameters and response schemas in an OpenAPI 3.0 subset of JSON
 * Schema and rejects the rest (`$schema`, `additionalProperties`, `strict`, …), so
 * schemas are cut down to that subset. Pure.
 */
const keptKeys = new Set([
  "type",
  "format",
  "title",
  "description",
  "nullable",
  "enum",
  "properties",
  "required",
  "items",
  "minItems",
  "maxItems",
  "minLength",
  "maxLength",
  "pattern",
  "minimum",
  "maximum",
  "minProperties",
  "maxProperties",
  "anyOf",
  "propertyOrdering"
])

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const subset = (schema: unknown): unknown => {
  if (!isRecord(schema)) return schema
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) {
    if (!keptKeys.has(key)) continue
    if (key === "properties" && isRecord(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, property]) => [name, subset(property)]))
    } else if (key === "items") {
      out[key] = subset(value)
    } else if (key === "anyOf" && Array.isArray(value)) {
      out[key] = value.map(subset)
    } else if (key === "type" && Array.isArray(value)) {
      // JSON Schema's ["string", "null"] is OpenAPI's type "string" with nullable.
      const types = value.filter((type) => type !== "null")
      if (types.length === 1) out[key] = types[0]
      if (types.length < value.length) out["nullable"] = true
    } else {
      out[key] = value
    }
  }
  return out
}

/** The schema in Gemini's subset; undefined for an object without properties, which Gemini refuses. */
export const geminiSchema = (schema: Record<string, unknown>): Record<string, unknown> | undefined => {
  const result = subset(schema) as Record<string, unknown>
  const properties = result["properties"]
  const emptyObject = result["type"] === "object" && (!isRecord(properties) || Object.keys(properties).length === 0)
  return emptyObject ? undefined : result
}
