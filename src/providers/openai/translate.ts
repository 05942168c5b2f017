/**
 * Canonical ⇄ OpenAI. The canonical shapes are OpenAI's, so the request changes little
 * (the upstream model, the gateway's completion budget, usage always on for streams) and
 * answers are decoded with the canonical schemas, which also drops fields the gateway
 * does not serve. `model` becomes the public id the client asked for. Pure.
 */
import { Result } from "effect"
import { ChatCompletion, ChatCompletionChunk, type ChatCompletionRequest } from "../../domain/Chat.ts"
import { TransportReason } from "../../domain/ProviderError.ts"
import type { ProviderRequest } from "../Provider.ts"
import { decoder, type StreamTranslator } from "../StreamTranslator.ts"

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

const decodeCompletion = decoder(ChatCompletion, "OpenAI completion")
const decodeChunk = decoder(ChatCompletionChunk, "OpenAI stream chunk")

export const toChatCompletion = (raw: unknown, publicModel: string): Result.Result<ChatCompletion, TransportReason> =>
  Result.map(decodeCompletion(raw), (completion) => ({ ...completion, model: publicModel }))

export interface StreamState {
  readonly finished: ReadonlySet<number>
}

/**
 * Chunks pass through with the public model; `usage: null` on content chunks is dropped
 * (the usage chunk, `choices: []`, carries it). OpenAI closes a stream the same way
 * whether it finished or was cut, so the end checks that every choice finished.
 */
export const streamTranslator = (publicModel: string, choiceCount: number): StreamTranslator<unknown, StreamState> => ({
  initial: { finished: new Set() },
  step: (state, raw) =>
    Result.map(decodeChunk(raw), ({ usage, ...chunk }) => {
      const out = { ...chunk, model: publicModel }
      if (chunk.choices.length === 0) return [state, usage === undefined || usage === null ? [] : [{ ...out, usage }]]
      const done = chunk.choices.filter((choice) => choice.finish_reason !== null)
      const finished = done.length === 0 ? state.finished : new Set([...state.finished, ...done.map((c) => c.index)])
      return [{ finished }, [out]]
    }),
  end: (state) =>
    state.finished.size >= choiceCount
      ? Result.succeed([])
      : Result.fail(new TransportReason({ message: "The OpenAI stream ended before every choice finished" }))
})
