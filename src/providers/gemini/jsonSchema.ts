/**
 * OpenAI's JSON Schemas (tool parameters, `response_format` json_schema) → Gemini's JSON Schema
 * fields, `responseJsonSchema` and `parametersJsonSchema`. Gemini takes these keywords and ignores
 * the rest: `$id`, `$defs`, `$ref`, `$anchor`, `type`, `format`, `title`, `description`, `enum`
 * (strings and numbers), `items`, `prefixItems`, `minItems`, `maxItems`, `minimum`, `maximum`,
 * `anyOf`, `oneOf` (read as `anyOf`), `properties`, `additionalProperties`, `required`,
 * `propertyOrdering`; and it refuses a `$ref` with siblings other than `$…` keywords
 * (GenerationConfig.response_json_schema, https://ai.google.dev/api/generate-content#generationconfig;
 * https://ai.google.dev/gemini-api/docs/structured-output).
 *
 * So: keywords Gemini ignores are left out, except what can be said another way (`const` as a
 * one-value `enum`, a one-schema `allOf` as that schema, an `allOf` of objects merged); draft-07
 * `definitions` become `$defs`; a `$ref` loses its siblings. `$ref`/`$defs` themselves pass. Pure.
 */

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

type Schema = Record<string, unknown>

const kept = new Set([
  "$id",
  "$defs",
  "$ref",
  "$anchor",
  "type",
  "format",
  "title",
  "description",
  "enum",
  "items",
  "prefixItems",
  "minItems",
  "maxItems",
  "minimum",
  "maximum",
  "anyOf",
  "oneOf",
  "properties",
  "additionalProperties",
  "required",
  "propertyOrdering"
])

const isEnumValue = (value: unknown) => typeof value === "string" || typeof value === "number"

/** `#/definitions/X` (draft-07, Pydantic v1) is `#/$defs/X` once `definitions` is renamed. */
const rewriteRef = (ref: unknown) => (typeof ref === "string" ? ref.replace(/^#\/definitions\//, "#/$defs/") : ref)

/** The schemas of an `allOf` merged into one: properties and required lists joined, other keys the first set. */
export const mergeAll = (schemas: ReadonlyArray<unknown>): Schema => {
  const merged: Schema = {}
  for (const schema of schemas.filter(isRecord)) {
    for (const [key, value] of Object.entries(schema)) {
      if (key === "properties" && isRecord(value)) {
        merged[key] = { ...(isRecord(merged[key]) ? merged[key] : {}), ...value }
      } else if (key === "required" && Array.isArray(value)) {
        const before = Array.isArray(merged[key]) ? (merged[key] as Array<unknown>) : []
        merged[key] = [...new Set([...before, ...value])]
      } else if (!(key in merged)) {
        merged[key] = value
      }
    }
  }
  return merged
}

/** One schema and everything under it, with only what Gemini reads. */
export const toGeminiJsonSchema = (schema: unknown): unknown => {
  if (!isRecord(schema)) return schema
  const allOf = schema["allOf"]
  if (Array.isArray(allOf) && allOf.length > 0) {
    const { allOf: _, ...rest } = schema
    // A `$ref` beside other keys is refused, so a referenced schema alone stays a reference.
    const single = allOf.length === 1 && isRecord(allOf[0]) && "$ref" in allOf[0]
    return toGeminiJsonSchema(single ? { ...rest, ...allOf[0] } : mergeAll([rest, ...allOf]))
  }
  if ("$ref" in schema) {
    const out: Schema = { $ref: rewriteRef(schema["$ref"]) }
    for (const key of ["$id", "$anchor"]) if (key in schema) out[key] = schema[key]
    const defs = definitionsOf(schema)
    if (defs !== undefined) out["$defs"] = defs
    return out
  }
  const out: Schema = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === "const") {
      if (isEnumValue(value) && !("enum" in schema)) out["enum"] = [value]
    } else if (key === "definitions" || key === "$defs") {
      const defs = definitionsOf(schema)
      if (defs !== undefined) out["$defs"] = defs
    } else if (!kept.has(key)) {
      continue
    } else if (key === "properties" && isRecord(value)) {
      out[key] = eachOf(value)
    } else if ((key === "anyOf" || key === "oneOf" || key === "prefixItems") && Array.isArray(value)) {
      out[key] = value.map(toGeminiJsonSchema)
    } else if (key === "items" && Array.isArray(value)) {
      out["prefixItems"] = value.map(toGeminiJsonSchema)
    } else if (key === "items" || key === "additionalProperties") {
      out[key] = toGeminiJsonSchema(value)
    } else if (key === "enum" && Array.isArray(value)) {
      const values = value.filter(isEnumValue)
      if (values.length > 0) out[key] = values
    } else {
      out[key] = value
    }
  }
  return out
}

/** Draft-07's `definitions` and 2020-12's `$defs` of a schema, together (`$defs` wins a name in both). */
export const definitionsIn = (schema: Schema): Schema => ({
  ...(isRecord(schema["definitions"]) ? schema["definitions"] : {}),
  ...(isRecord(schema["$defs"]) ? schema["$defs"] : {})
})

/** The definitions, said for Gemini, to go in `$defs`; undefined when there are none. */
const definitionsOf = (schema: Schema): Schema | undefined => {
  const defs = definitionsIn(schema)
  return Object.keys(defs).length === 0 ? undefined : eachOf(defs)
}

const eachOf = (schemas: Record<string, unknown>): Schema =>
  Object.fromEntries(Object.entries(schemas).map(([name, schema]) => [name, toGeminiJsonSchema(schema)]))

export const geminiJsonSchema = (schema: Record<string, unknown>): Record<string, unknown> =>
  toGeminiJsonSchema(schema) as Record<string, unknown>
