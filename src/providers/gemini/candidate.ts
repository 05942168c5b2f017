/**
 * What one Gemini candidate says, in OpenAI's terms: its answer text, its thought summaries
 * (reasoning), its function calls with their ids, and how it finished. Shared by whole answers
 * and streamed events. Pure.
 */
import type { FinishReason } from "../../domain/Chat.ts"
import { ProtocolReason } from "../../domain/ProviderError.ts"
import type { ResponseContext } from "../translateCommon.ts"
import { encodeToolCallId } from "./toolCallIds.ts"
import type { Candidate } from "./wire.ts"

/**
 * Gemini's finish reasons (https://ai.google.dev/api/generate-content#FinishReason): the filters
 * end as `content_filter`, `MAX_TOKENS` as `length`; `STOP` (Gemini has no tool-call reason) as
 * `tool_calls` when the candidate called a function, else `stop`, as do `OTHER`, the image-only
 * reasons and any reason not known yet.
 */
const filtered = new Set([
  "SAFETY",
  "RECITATION",
  "LANGUAGE",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "IMAGE_RECITATION"
])

/**
 * Reasons that mean the model failed to produce a usable answer: a function call it could not write
 * (`MALFORMED_FUNCTION_CALL`), one to a tool it was not given (`UNEXPECTED_TOOL_CALL`), a runaway
 * tool loop, a replay missing a thought signature, a malformed response. An empty answer finished by
 * `stop` would read as success; these are an upstream error instead (502, never retried, billed).
 */
const failed = new Set([
  "MALFORMED_FUNCTION_CALL",
  "UNEXPECTED_TOOL_CALL",
  "TOO_MANY_TOOL_CALLS",
  "MISSING_THOUGHT_SIGNATURE",
  "MALFORMED_RESPONSE"
])

/** null while the candidate goes on. */
export const finishReason = (reason: string | undefined, calledTools: boolean): FinishReason | null => {
  if (reason === undefined || reason === "FINISH_REASON_UNSPECIFIED") return null
  if (reason === "MAX_TOKENS") return "length"
  if (filtered.has(reason)) return "content_filter"
  return calledTools ? "tool_calls" : "stop"
}

export interface CandidateCall {
  /** Gemini's own id, when it gave one. */
  readonly id: string | undefined
  readonly signature: string | undefined
  readonly name: string
  readonly arguments: string
}

export interface CandidateParts {
  readonly text: string | undefined
  /** Thought summaries (parts marked `thought`), returned when `includeThoughts` asked for them. */
  readonly reasoning: string | undefined
  readonly calls: ReadonlyArray<CandidateCall>
}

export const partsOf = (candidate: Candidate): CandidateParts => {
  let text: string | undefined
  let reasoning: string | undefined
  const calls: Array<CandidateCall> = []
  for (const part of candidate.content?.parts ?? []) {
    if (part.thought === true) {
      if (part.text !== undefined) reasoning = (reasoning ?? "") + part.text
      continue
    }
    if (part.text !== undefined) text = (text ?? "") + part.text
    if (part.functionCall !== undefined) {
      calls.push({
        id: part.functionCall.id,
        signature: part.thoughtSignature,
        name: part.functionCall.name,
        arguments: JSON.stringify(part.functionCall.args ?? {})
      })
    }
  }
  return { text, reasoning, calls }
}

/** The OpenAI id of a candidate's `call`-th function call (counted across a stream's events). */
export const toolCallId = (context: ResponseContext, choice: number, call: number, part: CandidateCall): string =>
  encodeToolCallId(part.id ?? `call_${context.id.replace(/^chatcmpl-/, "")}_${choice}_${call}`, part.signature)

/** What the candidates said (text, function names and arguments), for the estimate when an answer fails. */
export const candidatesText = (candidates: ReadonlyArray<Candidate>): string => {
  let text = ""
  for (const candidate of candidates) {
    const parts = partsOf(candidate)
    text += (parts.reasoning ?? "") + (parts.text ?? "")
    for (const call of parts.calls) text += call.name + call.arguments
  }
  return text
}

/** The upstream error of a candidate that finished without a usable answer, or undefined. */
export const candidateFailure = (candidate: Candidate): ProtocolReason | undefined => {
  const reason = candidate.finishReason
  if (reason === undefined || !failed.has(reason)) return undefined
  const detail = candidate.finishMessage === undefined ? "" : `: ${candidate.finishMessage}`
  return new ProtocolReason({
    message: `Gemini ended its answer with ${reason}${detail}`,
    completionText: candidatesText([candidate])
  })
}
