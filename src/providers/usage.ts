/**
 * Reported usage decides what a user pays, and it arrives as untrusted upstream JSON. Each
 * count must be a token count — a non-negative integer that fits the ledger's 32-bit
 * integer columns — and each detail must stay within its total; otherwise the answer is a
 * Protocol failure: never retried (the upstream already did the work), billed by estimate
 * from what could be read of the answer (`completionText`). Pure.
 */
import * as Result from "effect/Result"
import type { AssistantMessage, ChunkChoice, Usage } from "../domain/Chat.ts"
import { ProtocolReason } from "../domain/ProviderError.ts"

/** 2³¹ − 1: PostgreSQL's `integer`, which the ledger and the settle function take. */
export const maxTokenCount = 2_147_483_647

export const isTokenCount = (value: number): boolean => Number.isInteger(value) && value >= 0 && value <= maxTokenCount

/** `name is value` when a reported count is present but is not a token count. */
export const countProblem = (name: string, value: number | null | undefined): string | undefined =>
  value === undefined || value === null || isTokenCount(value) ? undefined : `${name} is ${value}`

/**
 * Why a canonical usage cannot be billed, or undefined: a count (sums of vendor fields
 * included) that is not a token count, or a detail larger than the total it is part of.
 */
export const usageProblem = (usage: Usage): string | undefined => {
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0
  const written = usage.prompt_tokens_details?.cache_write_tokens ?? 0
  const reasoning = usage.completion_tokens_details?.reasoning_tokens ?? 0
  const problem =
    countProblem("prompt_tokens", usage.prompt_tokens) ??
    countProblem("completion_tokens", usage.completion_tokens) ??
    countProblem("total_tokens", usage.total_tokens) ??
    countProblem("prompt_tokens_details.cached_tokens", cached) ??
    countProblem("prompt_tokens_details.cache_write_tokens", written) ??
    countProblem("completion_tokens_details.reasoning_tokens", reasoning)
  if (problem !== undefined) return problem
  if (cached + written > usage.prompt_tokens) {
    return `cached and cache-write tokens (${cached + written}) exceed prompt_tokens (${usage.prompt_tokens})`
  }
  if (reasoning > usage.completion_tokens) {
    return `reasoning_tokens (${reasoning}) exceed completion_tokens (${usage.completion_tokens})`
  }
  return undefined
}

/** The canonical usage when it can be billed, else the problem. */
export const checkedUsage = (usage: Usage): Result.Result<Usage, string> => {
  const problem = usageProblem(usage)
  return problem === undefined ? Result.succeed(usage) : Result.fail(problem)
}

/** The failure of an answer whose usage cannot be billed; `completionText` is what could be read of it. */
export const unusableUsage = (vendor: string, problem: string, completionText: string): ProtocolReason =>
  new ProtocolReason({
    message: `${vendor} reported usage that cannot be billed: ${problem}`,
    ...(completionText !== "" && { completionText })
  })

/** Same counts and details: a stream sends a new usage chunk only when billing would see a difference. */
export const sameUsage = (a: Usage | undefined, b: Usage): boolean =>
  a !== undefined &&
  a.prompt_tokens === b.prompt_tokens &&
  a.completion_tokens === b.completion_tokens &&
  a.total_tokens === b.total_tokens &&
  a.prompt_tokens_details?.cached_tokens === b.prompt_tokens_details?.cached_tokens &&
  a.prompt_tokens_details?.cache_write_tokens === b.prompt_tokens_details?.cache_write_tokens &&
  a.completion_tokens_details?.reasoning_tokens === b.completion_tokens_details?.reasoning_tokens

/** The generated text of whole answers — content, refusals, tool-call names and arguments — for the estimate. */
export const completionTextOf = (choices: ReadonlyArray<{ readonly message: AssistantMessage }>): string => {
  let text = ""
  for (const { message } of choices) {
    text += (message.content ?? "") + (message.refusal ?? "")
    for (const call of message.tool_calls ?? []) text += call.function.name + call.function.arguments
  }
  return text
}

/** The same for stream deltas. */
export const deltaTextOf = (choices: ReadonlyArray<ChunkChoice>): string => {
  let text = ""
  for (const { delta } of choices) {
    text += (delta.content ?? "") + (delta.refusal ?? "")
    for (const call of delta.tool_calls ?? []) text += (call.function?.name ?? "") + (call.function?.arguments ?? "")
  }
  return text
}
