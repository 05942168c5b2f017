/**
 * An in-process provider adapter with scripted behaviour per model and a record of every
 * call, for resilience tests: fail with any `ProviderError` reason, hang, answer, or stream
 * one chunk and then break. It implements the same `Provider` contract as the real adapters.
 */
import { Clock, Effect, Stream } from "effect"
import type { ChatCompletion, ChatCompletionChunk } from "../../src/domain/Chat.ts"
import {
  BadRequestReason,
  OverloadedReason,
  ProviderError,
  type ProviderErrorReason,
  RateLimitedReason,
  TransportReason
} from "../../src/domain/ProviderError.ts"
import type { Provider, ProviderRequest } from "../../src/providers/Provider.ts"

export type Step =
  | { readonly _tag: "Answer" }
  | { readonly _tag: "Fail"; readonly reason: ProviderErrorReason }
  | { readonly _tag: "Hang" }
  /** Streams only: the first chunk, then a transport failure. */
  | { readonly _tag: "BreakAfterFirstChunk" }

export const answer: Step = { _tag: "Answer" }
export const hang: Step = { _tag: "Hang" }
export const breakAfterFirstChunk: Step = { _tag: "BreakAfterFirstChunk" }
export const fail = (reason: ProviderErrorReason): Step => ({ _tag: "Fail", reason })
export const overloaded = (status = 503, retryAfterSeconds?: number): Step =>
  fail(
    new OverloadedReason({
      message: `upstream ${status}`,
      status,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds })
    })
  )
export const rateLimited = (retryAfterSeconds?: number): Step =>
  fail(
    new RateLimitedReason({ message: "slow down", ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) })
  )
export const badRequest: Step = fail(new BadRequestReason({ message: "messages: bad", param: "messages" }))
export const connectionRefused: Step = fail(new TransportReason({ message: "ECONNREFUSED" }))

export interface ScriptedProvider extends Provider {
  /** The next behaviours of `model`, in order; the last one repeats. Unscripted models answer. */
  readonly script: (model: string, ...steps: ReadonlyArray<Step>) => void
  /** The clock time (ms) of every call made for `model`. */
  readonly callTimes: (model: string) => ReadonlyArray<number>
  readonly calls: (model: string) => number
  /** Upstream streams (their connections) released: finished, failed or cancelled, all models together. */
  readonly releasedStreams: () => number
}

const completionOf = (input: ProviderRequest): ChatCompletion => ({
  id: `chatcmpl-${input.requestId}`,
  object: "chat.completion",
  created: 0,
  // Like a real adapter: the answer names the model of the request it was given.
  model: input.request.model,
  choices: [
    { index: 0, message: { role: "assistant", content: `answer from ${input.model.id}` }, finish_reason: "stop" }
  ],
  usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 }
})

const chunksOf = (input: ProviderRequest): ReadonlyArray<ChatCompletionChunk> => {
  const chunk = (choices: ChatCompletionChunk["choices"]): ChatCompletionChunk => ({
    id: `chatcmpl-${input.requestId}`,
    object: "chat.completion.chunk",
    created: 0,
    model: input.request.model,
    choices
  })
  return [
    chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]),
    chunk([{ index: 0, delta: { content: `answer from ${input.model.id}` }, finish_reason: null }]),
    chunk([{ index: 0, delta: {}, finish_reason: "stop" }])
  ]
}

export const makeScriptedProvider = (): ScriptedProvider => {
  const scripts = new Map<string, Array<Step>>()
  const calls = new Map<string, Array<number>>()
  let released = 0

  const nextStep = (input: ProviderRequest) =>
    Effect.gen(function* () {
      const model = input.model.id
      const now = yield* Clock.currentTimeMillis
      calls.set(model, [...(calls.get(model) ?? []), now])
      const steps = scripts.get(model) ?? [answer]
      return steps.length > 1 ? steps.shift()! : steps[0]!
    })

  const failure = (input: ProviderRequest, reason: ProviderErrorReason) =>
    new ProviderError({ provider: "openai", model: input.model.id, reason })

  const complete = (input: ProviderRequest) =>
    Effect.gen(function* () {
      const step = yield* nextStep(input)
      switch (step._tag) {
        case "Fail":
          return yield* failure(input, step.reason)
        case "Hang":
          return yield* Effect.never
        default:
          return completionOf(input)
      }
    })

  /** Like an adapter that opens its HTTP response as a scoped resource and unwraps the body stream. */
  const stream = (input: ProviderRequest): Stream.Stream<ChatCompletionChunk, ProviderError> =>
    Stream.unwrap(
      Effect.acquireRelease(nextStep(input), () =>
        Effect.sync(() => {
          released++
        })
      ).pipe(
        Effect.map((step) => {
          const chunks = chunksOf(input)
          switch (step._tag) {
            case "Fail":
              return Stream.fail(failure(input, step.reason))
            case "Hang":
              return Stream.never
            case "BreakAfterFirstChunk":
              return Stream.concat(
                Stream.make(chunks[0]!),
                Stream.fail(failure(input, new TransportReason({ message: "connection reset" })))
              )
            case "Answer":
              return Stream.fromIterable(chunks)
          }
        })
      )
    )

  return {
    name: "openai",
    complete,
    stream,
    script: (model, ...steps) => {
      scripts.set(model, [...steps])
    },
    callTimes: (model) => calls.get(model) ?? [],
    calls: (model) => calls.get(model)?.length ?? 0,
    releasedStreams: () => released
  }
}
