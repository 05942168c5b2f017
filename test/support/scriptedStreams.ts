/**
 * Canonical chunk streams shaped as each provider adapter emits them (the adapters' contract):
 * - openai: the role chunk (with empty content), text chunks, the finish chunk, and one usage
 *   chunk at the end;
 * - anthropic: the role chunk, at once a usage chunk with the prompt counts of `message_start`
 *   (and its one output token), text chunks, the finish chunk, the final usage chunk;
 * - gemini: every text chunk followed by a usage chunk with the counts so far.
 * Usage chunks (`choices: []`) are cumulative: the last of a finished stream is final.
 */
import type { ChatCompletionChunk, Usage } from "../../src/domain/Chat.ts"

export type Vendor = "openai" | "anthropic" | "gemini"
export const vendors: ReadonlyArray<Vendor> = ["openai", "anthropic", "gemini"]

export interface ScriptedUsage {
  readonly prompt: number
  readonly cached?: number
  readonly cacheWrite?: number
  readonly completion: number
  readonly reasoning?: number
}

const usageOf = (usage: ScriptedUsage, completion = usage.completion): Usage => ({
  prompt_tokens: usage.prompt,
  completion_tokens: completion,
  total_tokens: usage.prompt + completion,
  prompt_tokens_details: { cached_tokens: usage.cached ?? 0, cache_write_tokens: usage.cacheWrite ?? 0 },
  completion_tokens_details: { reasoning_tokens: Math.min(usage.reasoning ?? 0, completion) }
})

export const chunk = (
  choices: ChatCompletionChunk["choices"],
  usage?: Usage,
  model = "scripted"
): ChatCompletionChunk => ({
  id: "chatcmpl-scripted",
  object: "chat.completion.chunk",
  created: 0,
  model,
  choices,
  ...(usage === undefined ? {} : { usage })
})

const text = (content: string) => chunk([{ index: 0, delta: { content }, finish_reason: null }])
const usageChunk = (usage: Usage) => chunk([], usage)

/** The whole stream a provider sends for `pieces` of text and `usage`, in the vendor's shape. */
export const providerStream = (
  vendor: Vendor,
  pieces: ReadonlyArray<string>,
  usage: ScriptedUsage
): Array<ChatCompletionChunk> => {
  const finish = chunk([{ index: 0, delta: {}, finish_reason: "stop" }])
  switch (vendor) {
    case "openai":
      return [
        chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]),
        ...pieces.map(text),
        finish,
        usageChunk(usageOf(usage))
      ]
    case "anthropic":
      return [
        chunk([{ index: 0, delta: { role: "assistant" }, finish_reason: null }]),
        usageChunk(usageOf(usage, 1)),
        ...pieces.map(text),
        finish,
        usageChunk(usageOf(usage))
      ]
    case "gemini":
      return [
        chunk([{ index: 0, delta: { role: "assistant" }, finish_reason: null }]),
        ...pieces.flatMap((piece, i) => [
          text(piece),
          usageChunk(usageOf(usage, i === pieces.length - 1 ? usage.completion : i + 1))
        ]),
        finish,
        usageChunk(usageOf(usage))
      ]
  }
}

/** How many chunks of `providerStream` come before the first text: the role chunk, and Anthropic's prompt usage. */
export const chunksBeforeText = (vendor: Vendor): number => (vendor === "anthropic" ? 2 : 1)
