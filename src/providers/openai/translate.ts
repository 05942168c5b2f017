/**
 * Canonical ⇄ OpenAI. The canonical shapes are OpenAI's, so the request changes little
 * (the upstream model, the gateway's completion budget, usage always on for streams) and
 * answers are decoded with the canonical schemas (`wire.ts`), which also drops fields the
 * gateway does not serve; their usage is checked. `model` becomes the public id the
 * client asked for. Pure.
 */
import { Result } from "effect"
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Usage } from "../../domain/Chat.ts"
import { type ProtocolReason, TransportReason } from "../../domain/ProviderError.ts"
import type { ProviderRequest } from "../Provider.ts"
import { decoder, type Step, type StreamTranslator } from "../StreamTranslator.ts"
import { checkedUsage, completionTextOf, deltaTextOf, unusableUsage } from "../usage.ts"
import { Chunk, Completion, type Usage as OpenAIUsage } from "./wire.ts"

export type OpenAIRequest = Omit<
  ChatCompletionRequest,
  "stream" | "stream_options" | "max_tokens" | "max_completion_tokens"
> & {
  readonly max_tokens?: number
  readonly max_completion_tokens?: number
  readonly stream?: true
  readonly stream_options?: { readonly include_usage: true }
}

/** An explicit `null` means "not set"; some OpenAI-compatible servers refuse it, so it is not sent. */
const withoutNulls = <T extends object>(fields: T): { [K in keyof T]: Exclude<T[K], null> } =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== null)) as {
    [K in keyof T]: Exclude<T[K], null>
  }

export const toOpenAIRequest = (input: ProviderRequest, stream: boolean): OpenAIRequest => {
  const { stream: _stream, stream_options: _options, max_tokens, max_completion_tokens, ...rest } = input.request
  // The client's choice of field is kept: o-series models refuse max_tokens, older compatible servers the other.
  const budget =
    max_completion_tokens !== undefined && max_completion_tokens !== null && (max_tokens ?? undefined) === undefined
      ? { max_completion_tokens: input.maxTokens }
      : { max_tokens: input.maxTokens }
  return {
    ...withoutNulls(rest),
    model: input.model.upstreamModel,
    ...budget,
    // Usage is always asked for, so that billing has it; the HTTP layer hides it from clients who did not ask.
    ...(stream && { stream: true, stream_options: { include_usage: true } })
  }
}

const decodeCompletion = decoder(Completion, "OpenAI completion")
const decodeChunk = decoder(Chunk, "OpenAI stream chunk")

/** OpenAI's usage, checked; the details the gateway prices are kept, the others (audio, predictions) dropped. */
export const usageOf = (usage: OpenAIUsage): Result.Result<Usage, string> => {
  const cached = usage.prompt_tokens_details?.cached_tokens
  const reasoning = usage.completion_tokens_details?.reasoning_tokens
  return checkedUsage({
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.total_tokens,
    ...(cached !== undefined && cached !== null && { prompt_tokens_details: { cached_tokens: cached } }),
    ...(reasoning !== undefined && reasoning !== null && { completion_tokens_details: { reasoning_tokens: reasoning } })
  })
}

export const toChatCompletion = (raw: unknown, publicModel: string): Result.Result<ChatCompletion, ProtocolReason> =>
  Result.flatMap(decodeCompletion(raw), ({ usage, ...completion }) => {
    const answer = { ...completion, model: publicModel }
    if (usage === undefined || usage === null) return Result.succeed(answer)
    return Result.match(usageOf(usage), {
      onSuccess: (checked) => Result.succeed({ ...answer, usage: checked }),
      onFailure: (problem) => Result.fail(unusableUsage("OpenAI", problem, completionTextOf(completion.choices)))
    })
  })

export interface StreamState {
  readonly finished: ReadonlySet<number>
  /** The chunk of the latest usage reported: a stream that ends normally ends with it. */
  readonly usageChunk: ChatCompletionChunk | undefined
  /** Whether the last chunk out was the usage chunk. */
  readonly usageLast: boolean
}

const initial: StreamState = { finished: new Set(), usageChunk: undefined, usageLast: false }

/**
 * Chunks pass through with the public model. Usage goes out as a usage chunk
 * (`choices: []`) of its own: OpenAI sends one before `[DONE]`, but compatible servers
 * may put it on a chunk that still has choices, or on several. A stream that ended
 * normally ends with its latest usage. OpenAI closes a stream the same way whether it
 * finished or was cut, so the end checks that every choice finished.
 */
export const streamTranslator = (publicModel: string, choiceCount: number): StreamTranslator<unknown, StreamState> => ({
  initial,
  step: (state, raw) =>
    Result.flatMap(decodeChunk(raw), ({ usage, ...chunk }): Result.Result<Step<StreamState>, ProtocolReason> => {
      const out: ChatCompletionChunk = { ...chunk, model: publicModel }
      let finished = state.finished
      for (const choice of chunk.choices) {
        if (choice.finish_reason !== null && !finished.has(choice.index)) {
          finished = new Set(finished).add(choice.index)
        }
      }
      if (usage === undefined || usage === null) {
        if (chunk.choices.length === 0) return Result.succeed([state, []])
        const next = finished === state.finished && !state.usageLast ? state : { ...state, finished, usageLast: false }
        return Result.succeed([next, [out]])
      }
      const checked = usageOf(usage)
      if (Result.isFailure(checked)) {
        return Result.fail(unusableUsage("OpenAI", checked.failure, deltaTextOf(chunk.choices)))
      }
      const usageChunk: ChatCompletionChunk = { ...out, choices: [], usage: checked.success }
      const next = { finished, usageChunk, usageLast: true }
      return Result.succeed([next, chunk.choices.length === 0 ? [usageChunk] : [out, usageChunk]])
    }),
  end: (state) => {
    if (state.finished.size < choiceCount) {
      return Result.fail(new TransportReason({ message: "The OpenAI stream ended before every choice finished" }))
    }
    return Result.succeed(state.usageChunk === undefined || state.usageLast ? [] : [state.usageChunk])
  }
})
