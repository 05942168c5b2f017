/**
 * Running a stream translator as the adapters do, keeping what went out before a failure:
 * billing sees those chunks (the partial usage among them) even when the stream then fails.
 */
import { Result } from "effect"
import type { ChatCompletionChunk, Usage } from "../../../src/domain/Chat.ts"
import type { ProviderErrorReason } from "../../../src/domain/ProviderError.ts"
import type { StreamTranslator } from "../../../src/providers/StreamTranslator.ts"

export interface Translated {
  readonly chunks: ReadonlyArray<ChatCompletionChunk>
  readonly failure: ProviderErrorReason | undefined
}

export const translated = <Event, S>(translator: StreamTranslator<Event, S>, events: Iterable<Event>): Translated => {
  let state = translator.initial
  const chunks: Array<ChatCompletionChunk> = []
  for (const event of events) {
    const result = translator.step(state, event)
    if (Result.isFailure(result)) return { chunks, failure: result.failure }
    state = result.success[0]
    chunks.push(...result.success[1])
  }
  const last = translator.end(state)
  if (Result.isFailure(last)) return { chunks, failure: last.failure }
  return { chunks: [...chunks, ...last.success], failure: undefined }
}

export const isUsageChunk = (chunk: ChatCompletionChunk): boolean => chunk.choices.length === 0

/** The usages of the usage chunks, in order. */
export const usages = (chunks: ReadonlyArray<ChatCompletionChunk>): Array<Usage | null | undefined> =>
  chunks.filter(isUsageChunk).map((chunk) => chunk.usage)

/** Each chunk as one readable item: the first choice's delta, or the usage of a usage chunk. */
export const sequence = (chunks: ReadonlyArray<ChatCompletionChunk>) =>
  chunks.map((chunk) => (isUsageChunk(chunk) ? { usage: chunk.usage } : chunk.choices[0]?.delta))
