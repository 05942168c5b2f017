/**
 * Finish reasons from OpenAI-compatible servers, as one of OpenAI's five
 * (https://platform.openai.com/docs/api-reference/chat/object: `stop`, `length`, `tool_calls`,
 * `content_filter`, `function_call`), which is what clients switch on. Servers add their own:
 * vLLM `abort` (the engine stopped the request), TGI `eos_token`, servers that relay Anthropic or
 * Gemini `end_turn`, `max_tokens`, `safety`. Each maps to the nearest of OpenAI's by what it
 * tells the client:
 * - the answer was cut before its natural end (`abort`, `max_tokens`, `error`, …): `length`;
 * - the model asked for tools: `tool_calls`; a filter stopped it: `content_filter`;
 * - anything else, a natural end included (`eos`, `end_turn`, unknown values): `stop`.
 * An empty string is no reason yet (`null`), as some servers send it on chunks in the middle.
 */
import type { FinishReason } from "../../domain/Chat.ts"

const openaiReasons: ReadonlySet<string> = new Set<FinishReason>([
  "stop",
  "length",
  "tool_calls",
  "content_filter",
  "function_call"
])

const nearest: Readonly<Record<string, FinishReason>> = {
  abort: "length",
  aborted: "length",
  cancelled: "length",
  canceled: "length",
  error: "length",
  timeout: "length",
  incomplete: "length",
  max_tokens: "length",
  max_length: "length",
  max_output_tokens: "length",
  model_length: "length",
  tool_call: "tool_calls",
  tool_use: "tool_calls",
  function: "tool_calls",
  content_filtered: "content_filter",
  safety: "content_filter",
  recitation: "content_filter",
  blocked: "content_filter",
  refusal: "content_filter"
}

export const isOpenAIFinishReason = (reason: string | null): reason is FinishReason | null =>
  reason === null || openaiReasons.has(reason)

/** The OpenAI finish reason nearest to what a server sent. */
export const toFinishReason = (reason: string | null): FinishReason | null => {
  if (isOpenAIFinishReason(reason)) return reason
  return reason === "" ? null : (nearest[reason.toLowerCase()] ?? "stop")
}
