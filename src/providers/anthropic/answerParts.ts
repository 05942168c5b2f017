/**
 * What the whole answer and the stream read alike: the stop reason and the usage.
 */
import * as Result from "effect/Result"
import type { FinishReason, Usage } from "../../domain/Chat.ts"
import { checkedUsage, countProblem } from "../usage.ts"
import type { Usage as AnthropicUsage } from "./wire.ts"

/** How the request was made, as far as reading its answer needs. */
export interface AnswerOptions {
  /** The answer's JSON arrives as the input of the forced JSON tool. */
  readonly jsonTool: boolean
}

/**
 * https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons: `refusal` is Claude's
 * safety stop, `model_context_window_exceeded` a budget stop like `max_tokens`; `pause_turn` (a server
 * tool's long turn paused) has no OpenAI counterpart and, like anything newer, reads as a stop. A JSON
 * answer made as a tool call is an ordinary answer.
 */
export const finishReason = (stopReason: string | null | undefined, jsonAnswer = false): FinishReason => {
  switch (stopReason) {
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length"
    case "tool_use":
      return jsonAnswer ? "stop" : "tool_calls"
    case "refusal":
      return "content_filter"
    default:
      return "stop"
  }
}

/**
 * `input_tokens` excludes cache writes and reads, but all three are billed input ("total
 * input tokens = cache_read_input_tokens + cache_creation_input_tokens + input_tokens",
 * https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching), so the prompt is
 * their sum and the details say which parts were read from and written to the cache, each
 * priced apart. `output_tokens` already counts extended thinking, billed as output
 * (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking); the classic
 * API does not report it apart, so there is no reasoning detail.
 */
export const usageOf = (usage: AnthropicUsage): Result.Result<Usage, string> => {
  const problem =
    countProblem("input_tokens", usage.input_tokens) ??
    countProblem("output_tokens", usage.output_tokens) ??
    countProblem("cache_creation_input_tokens", usage.cache_creation_input_tokens) ??
    countProblem("cache_read_input_tokens", usage.cache_read_input_tokens)
  if (problem !== undefined) return Result.fail(problem)
  const cacheRead = usage.cache_read_input_tokens ?? 0
  const cacheWrite = usage.cache_creation_input_tokens ?? 0
  const prompt = (usage.input_tokens ?? 0) + cacheWrite + cacheRead
  const completion = usage.output_tokens ?? 0
  return checkedUsage({
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead, cache_write_tokens: cacheWrite }
  })
}
