/**
 * OpenAI's `response_format` on Claude.
 * - `json_schema` on a model with native structured outputs (catalog `structured_outputs: "native"`):
 *   `output_config.format` with the schema, and the answer's text is the JSON
 *   (https://platform.claude.com/docs/en/build-with-claude/structured-outputs). Claude always constrains
 *   the output to the schema, so `strict` changes nothing; a schema it cannot constrain is its 400.
 * - `json_schema` elsewhere, and `json_object` everywhere (structured outputs take no free-form object):
 *   one tool whose input schema is the schema, forced with `tool_choice`; the answer's tool input is
 *   unwrapped into `message.content` as JSON text with `finish_reason: "stop"`. Forced tool use and
 *   thinking exclude each other (https://platform.claude.com/docs/en/build-with-claude/extended-thinking,
 *   feature compatibility), so this method turns the catalog's default thinking off.
 */
import * as Result from "effect/Result"
import type { CatalogModel } from "../../domain/Catalog.ts"
import type { ChatCompletionRequest } from "../../domain/Chat.ts"
import type { UnsupportedReason } from "../../domain/ProviderError.ts"
import { unsupported } from "../translateCommon.ts"
import type { OutputConfig, RequestTool } from "./wire.ts"

/** The tool that carries a JSON answer on the forced-tool method; never shown to the client. */
export const jsonToolName = "json_response"

export type StructuredOutput =
  | { readonly kind: "none" }
  | { readonly kind: "native"; readonly format: NonNullable<OutputConfig["format"]> }
  | { readonly kind: "tool"; readonly tool: RequestTool }

const anyObject = { type: "object" }

export const structuredOutput = (
  request: ChatCompletionRequest,
  model: CatalogModel
): Result.Result<StructuredOutput, UnsupportedReason> => {
  const format = request.response_format
  if (format === undefined || format === null || format.type === "text") return Result.succeed({ kind: "none" })
  if ((request.tools ?? []).some((tool) => tool.function.name === jsonToolName)) {
    return unsupported("tools", `tools: the name ${jsonToolName} is reserved with response_format on Anthropic models`)
  }
  if (format.type === "json_object") {
    const description = "Answer with a JSON object."
    return Result.succeed({ kind: "tool", tool: { name: jsonToolName, description, input_schema: anyObject } })
  }
  if (format.type !== "json_schema") return Result.succeed({ kind: "none" })
  const schema = format.json_schema.schema ?? anyObject
  if (model.structuredOutputs === "native") {
    return Result.succeed({ kind: "native", format: { type: "json_schema", schema } })
  }
  if (schema.type !== "object") {
    return unsupported(
      "response_format",
      `response_format: ${model.id} takes a JSON schema whose root is an object (type: "object")`
    )
  }
  const description = format.json_schema.description ?? `Answer with ${format.json_schema.name}.`
  return Result.succeed({ kind: "tool", tool: { name: jsonToolName, description, input_schema: schema } })
}
