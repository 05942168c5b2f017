/**
 * Models without JSON Schema support (Gemini 1.5 and 2.0) take function parameters and response
 * schemas in an OpenAPI 3.0 subset (`parameters`, `responseSchema`; the `Schema` object of
 * https://ai.google.dev/api/caching#Schema) and refuse the rest (`$schema`, `additionalProperties`,
 * `strict`, an object with no properties, …). So schemas are said again in that subset: `$ref`s are
 * resolved from `$defs`/`definitions` (a reference back into itself is cut, leaving that property
 * out, and an array of it), `const` becomes a one-value `enum`, `oneOf` an `anyOf`, an `allOf` its merged schemas,
 * `["string", "null"]` a nullable string; an object without properties cannot be said, so such a
 * property is left out. Pure.
 */
import { definitionsIn, isRecord, mergeAll } from "./jsonSchema.ts"

type Schema = Record<string, unknown>

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

/** Left out of its parent: a schema the subset cannot say. */
const omitted = Symbol("omitted")

const isEmptyObject = (schema: Schema) =>
  schema["type"] === "object" && (!isRecord(schema["properties"]) || Object.keys(schema["properties"]).length === 0)

const subset = (schema: unknown, defs: Schema, resolving: ReadonlySet<string>): unknown => {
  if (!isRecord(schema)) return schema
  const ref = schema["$ref"]
  if (typeof ref === "string") {
    const name = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref)?.[1]
    if (name === undefined || resolving.has(name) || !isRecord(defs[name])) return omitted
    const { $ref: _, ...siblings } = schema
    return subset({ ...defs[name], ...siblings }, defs, new Set([...resolving, name]))
  }
  const allOf = schema["allOf"]
  if (Array.isArray(allOf)) {
    const { allOf: _, ...rest } = schema
    const parts = allOf.map((part) => subset(part, defs, resolving)).filter((part) => part !== omitted)
    return subset(mergeAll([rest, ...parts]), defs, resolving)
  }
  const out: Schema = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === "const" && typeof value === "string" && !("enum" in schema)) {
      out["enum"] = [value]
      continue
    }
    const name = key === "oneOf" ? "anyOf" : key
    if (!keptKeys.has(name)) continue
    if (name === "properties" && isRecord(value)) {
      const properties: Schema = {}
      for (const [property, inner] of Object.entries(value)) {
        const said = subset(inner, defs, resolving)
        if (said !== omitted && !(isRecord(said) && isEmptyObject(said))) properties[property] = said
      }
      out[name] = properties
    } else if (name === "items") {
      const said = subset(value, defs, resolving)
      if (said !== omitted) out[name] = said
    } else if (name === "anyOf" && Array.isArray(value)) {
      const options = value.map((option) => subset(option, defs, resolving)).filter((option) => option !== omitted)
      // JSON Schema's `{"type": "null"}` option is OpenAPI's nullable.
      const nonNull = options.filter((option) => !(isRecord(option) && option["type"] === "null"))
      if (nonNull.length < options.length) out["nullable"] = true
      if (nonNull.length === 1 && isRecord(nonNull[0])) Object.assign(out, nonNull[0])
      else if (nonNull.length > 1) out[name] = nonNull
    } else if (name === "type" && Array.isArray(value)) {
      // JSON Schema's ["string", "null"] is OpenAPI's type "string" with nullable.
      const types = value.filter((type) => type !== "null")
      if (types.length === 1) out[name] = types[0]
      if (types.length < value.length) out["nullable"] = true
    } else {
      out[name] = value
    }
  }
  // An array whose items could not be said cannot be said either.
  if ("items" in schema && !("items" in out)) return omitted
  if (Array.isArray(out["required"]) && isRecord(out["properties"])) {
    const properties = out["properties"]
    out["required"] = out["required"].filter((name) => typeof name === "string" && name in properties)
  }
  return out
}

/** The schema in Gemini's subset; undefined for an object without properties, which Gemini refuses. */
export const geminiSchema = (schema: Record<string, unknown>): Record<string, unknown> | undefined => {
  const result = subset(schema, definitionsIn(schema), new Set())
  return result === omitted || !isRecord(result) || isEmptyObject(result) ? undefined : result
}
