/**
 * What the real OpenAI Chat Completions API refuses, for the OpenAI fake: message shapes and
 * unknown message keys, unknown request fields, parameter ranges, what reasoning models refuse
 * (`max_tokens`, a temperature other than 1) and what other models refuse (`reasoning_effort`),
 * structured-output schemas that strict mode refuses. Error bodies and messages are the real
 * API's (https://platform.openai.com/docs/guides/reasoning, .../structured-outputs).
 */
import type { Answer } from "./FakeUpstream.ts"

export const invalid = (
  message: string,
  param: string | null = null,
  code: string | null = null,
  status = 400
): Answer => ({
  status,
  body: { error: { message, type: "invalid_request_error", param, code } }
})

/** o-series and GPT-5 models reason; the GPT-5 chat variants do not. */
export const isReasoningModel = (model: string): boolean => /^(o\d|gpt-5)/.test(model) && !model.includes("-chat")

const roles = new Set(["system", "developer", "user", "assistant", "tool"])
const partTypes = new Set(["text", "image_url", "input_audio", "file"])
const messageKeys = new Set([
  "role",
  "content",
  "name",
  "tool_calls",
  "tool_call_id",
  "refusal",
  "audio",
  "function_call"
])

/** Every field of a Chat Completions request (https://platform.openai.com/docs/api-reference/chat/create). */
const requestFields = new Set([
  "model",
  "messages",
  "audio",
  "frequency_penalty",
  "function_call",
  "functions",
  "logit_bias",
  "logprobs",
  "max_completion_tokens",
  "max_tokens",
  "metadata",
  "modalities",
  "n",
  "parallel_tool_calls",
  "prediction",
  "presence_penalty",
  "prompt_cache_key",
  "prompt_cache_retention",
  "reasoning_effort",
  "response_format",
  "safety_identifier",
  "seed",
  "service_tier",
  "stop",
  "store",
  "stream",
  "stream_options",
  "temperature",
  "tool_choice",
  "tools",
  "top_logprobs",
  "top_p",
  "user",
  "verbosity",
  "web_search_options"
])

// biome-ignore lint: request bodies are checked field by field
export const checkMessages = (messages: any, strictKeys: boolean): Answer | undefined => {
  if (!Array.isArray(messages) || messages.length === 0)
    return invalid("messages: must be a non-empty array", "messages")
  const callIds = new Set<string>()
  for (const [index, message] of messages.entries()) {
    const at = `messages[${index}]`
    if (!roles.has(message?.role)) return invalid(`${at}.role: invalid value`, `${at}.role`)
    const unexpected = strictKeys ? Object.keys(message).find((key) => !messageKeys.has(key)) : undefined
    if (unexpected !== undefined) {
      return invalid(`Additional properties are not allowed ('${unexpected}' was unexpected) - 'messages.${index}'`)
    }
    const content = message.content
    if (Array.isArray(content)) {
      if (content.some((part) => !partTypes.has(part?.type)))
        return invalid(`${at}.content: invalid part`, `${at}.content`)
    } else if (
      typeof content !== "string" &&
      !(content == null && message.role === "assistant" && message.tool_calls)
    ) {
      return invalid(`${at}.content: expected a string or an array of parts`, `${at}.content`)
    }
    for (const call of message.tool_calls ?? []) {
      if (call?.type !== "function" || typeof call.id !== "string" || typeof call.function?.arguments !== "string") {
        return invalid(`${at}.tool_calls: each call needs id, type "function" and string arguments`, `${at}.tool_calls`)
      }
      callIds.add(call.id)
    }
    if (message.role === "tool" && !callIds.has(message.tool_call_id)) {
      return invalid(
        "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
        `${at}.role`
      )
    }
  }
  return undefined
}

/** The ranges every OpenAI-compatible server checks. */
// biome-ignore lint: request bodies are checked field by field
export const checkParameters = (body: any): Answer | undefined => {
  const range = (name: string, min: number, max: number) =>
    body[name] != null && !(typeof body[name] === "number" && body[name] >= min && body[name] <= max)
  if (range("temperature", 0, 2)) return invalid("temperature: must be between 0 and 2", "temperature")
  if (range("top_p", 0, 1)) return invalid("top_p: must be between 0 and 1", "top_p")
  if (range("n", 1, 128) || (body.n != null && !Number.isInteger(body.n))) return invalid("n: invalid", "n")
  if (body.stream_options != null && body.stream !== true) {
    return invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options")
  }
  if (Array.isArray(body.stop) && body.stop.length > 4) return invalid("stop: at most 4 sequences", "stop")
  if (body.tool_choice != null && !(Array.isArray(body.tools) && body.tools.length > 0)) {
    return invalid(
      "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
      "tool_choice"
    )
  }
  return undefined
}

// biome-ignore lint: request bodies are checked field by field
const checkModelParameters = (body: any): Answer | undefined => {
  if (isReasoningModel(body.model)) {
    if (body.max_tokens != null) {
      return invalid(
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
        "max_tokens",
        "unsupported_parameter"
      )
    }
    if (body.temperature != null && body.temperature !== 1) {
      return invalid(
        `Unsupported value: 'temperature' does not support ${body.temperature} with this model. Only the default (1) value is supported.`,
        "temperature",
        "unsupported_value"
      )
    }
  } else if (body.reasoning_effort != null) {
    return invalid(
      "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
      "reasoning_effort",
      "unsupported_parameter"
    )
  }
  return undefined
}

/** What strict structured outputs refuse in a schema: open objects, and optional properties. */
// biome-ignore lint: schemas are walked freely
const strictSchemaProblem = (schema: any): string | undefined => {
  if (typeof schema !== "object" || schema === null) return undefined
  if (schema.type === "object" || schema.properties !== undefined) {
    if (schema.additionalProperties !== false) {
      return "'additionalProperties' is required to be supplied and to be false."
    }
    const missing = Object.keys(schema.properties ?? {}).find((key) => !(schema.required ?? []).includes(key))
    if (missing !== undefined) {
      return `'required' is required to be supplied and to be an array including every key in properties. Missing '${missing}'.`
    }
  }
  const nested = [
    ...Object.values(schema.properties ?? {}),
    ...Object.values(schema.$defs ?? schema.definitions ?? {}),
    ...(schema.anyOf ?? []),
    ...(schema.items === undefined ? [] : [schema.items])
  ]
  for (const child of nested) {
    const problem = strictSchemaProblem(child)
    if (problem !== undefined) return problem
  }
  return undefined
}

// biome-ignore lint: request bodies are checked field by field
const checkResponseFormat = (body: any): Answer | undefined => {
  const format = body.response_format
  if (format?.type === "json_object") {
    const mentionsJson = JSON.stringify(body.messages).toLowerCase().includes("json")
    if (!mentionsJson) {
      return invalid(
        "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
        "messages"
      )
    }
  }
  if (format?.type === "json_schema" && format.json_schema?.strict === true) {
    const problem = strictSchemaProblem(format.json_schema.schema)
    if (problem !== undefined) {
      return invalid(
        `Invalid schema for response_format '${format.json_schema.name}': In context=(), ${problem}`,
        "response_format"
      )
    }
  }
  return undefined
}

/** Everything the real API refuses about a request, or undefined. */
// biome-ignore lint: request bodies are checked field by field
export const checkOpenAIRequest = (body: any): Answer | undefined => {
  if (typeof body?.model !== "string" || body.model === "") return invalid("you must provide a model parameter")
  const unknown = Object.keys(body).find((field) => !requestFields.has(field))
  if (unknown !== undefined) return invalid(`Unrecognized request argument supplied: ${unknown}`)
  return (
    checkMessages(body.messages, true) ??
    checkParameters(body) ??
    checkModelParameters(body) ??
    checkResponseFormat(body)
  )
}
