/**
 * One upstream attempt, observed: a client span named and attributed after the OpenTelemetry
 * GenAI semantic conventions (`chat <model>` or `embeddings <model>`, gen_ai.* attributes, token
 * usage once known), and the attempt's start and outcome told to the request's observer. Also how
 * a failed attempt is logged.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import type { ChatCompletion, ChatCompletionChunk, Usage } from "../../domain/Chat.ts"
import { isUpstreamFault, type ProviderError } from "../../domain/ProviderError.ts"
import type { ProtocolReason } from "../../domain/ProviderError.ts"
import type { EmbeddingProviderRequest, EmbeddingResult, ProviderRequest } from "../../providers/Provider.ts"
import type { ResolvedModel } from "../registry/ProviderRegistry.ts"
import { whenTracing } from "../telemetry/Spans.ts"
import type { ChatObserver, UpstreamObserver } from "./ChatObserver.ts"

/** `gen_ai.provider.name` values of the semantic conventions. */
const genAiProvider = { openai: "openai", anthropic: "anthropic", gemini: "gcp.gemini", simulator: "simulator" }

const baseAttributes = (operation: "chat" | "embeddings", target: ResolvedModel, requestId: string) => ({
  "gen_ai.operation.name": operation,
  "gen_ai.provider.name": genAiProvider[target.provider.name],
  "gen_ai.system": genAiProvider[target.provider.name],
  "gen_ai.request.model": target.model.upstreamModel,
  "gateway.model": target.model.id,
  "gateway.request_id": requestId
})

const spanOptions = (target: ResolvedModel, request: ProviderRequest): Tracer.SpanOptionsNoTrace => {
  const attributes: Record<string, unknown> = {
    ...baseAttributes("chat", target, request.requestId),
    "gen_ai.request.max_tokens": request.maxTokens
  }
  const { temperature, top_p } = request.request
  if (temperature !== undefined && temperature !== null) attributes["gen_ai.request.temperature"] = temperature
  if (top_p !== undefined && top_p !== null) attributes["gen_ai.request.top_p"] = top_p
  return { kind: "client", attributes }
}

const spanName = (target: ResolvedModel) => `chat ${target.model.upstreamModel}`

const usageAttributes = (usage: Usage) => ({
  "gen_ai.usage.input_tokens": usage.prompt_tokens,
  "gen_ai.usage.output_tokens": usage.completion_tokens
})

/** Whether a failure says something about the upstream's health (client errors and cancellations do not). */
const isFault = (error: ProviderError) => isUpstreamFault(error.reason)

/** One call under its span, annotated with what its answer says; the observer learns when it started and how it ended. */
const observedAttempt = <A>(
  observer: UpstreamObserver,
  target: ResolvedModel,
  span: () => { readonly name: string; readonly options: Tracer.SpanOptionsNoTrace },
  call: Effect.Effect<A, ProviderError>,
  answerAttributes: (answer: A) => Record<string, unknown>
): Effect.Effect<A, ProviderError> => {
  observer.attemptStarted()
  return whenTracing(call, (call) => {
    const { name, options } = span()
    return Effect.withSpan(
      Effect.tap(call, (answer) => Effect.annotateCurrentSpan(answerAttributes(answer))),
      name,
      { ...options, captureStackTrace: false }
    )
  }).pipe(
    Effect.onExit((exit) =>
      Effect.sync(() => {
        if (Exit.isSuccess(exit)) return observer.attemptEnded(target.model.id, true)
        const error = Cause.findErrorOption(exit.cause)
        if (Option.isSome(error) && isFault(error.value)) observer.attemptEnded(target.model.id, false)
      })
    )
  )
}

/** A whole completion, under its span. */
export const completionAttempt = (
  observer: ChatObserver,
  target: ResolvedModel,
  request: ProviderRequest,
  call: Effect.Effect<ChatCompletion, ProviderError>
): Effect.Effect<ChatCompletion, ProviderError> =>
  observedAttempt(
    observer,
    target,
    () => ({ name: spanName(target), options: spanOptions(target, request) }),
    call,
    (completion) => ({
      "gen_ai.response.id": completion.id,
      "gen_ai.response.model": completion.model,
      "gen_ai.response.finish_reasons": completion.choices.map((choice) => choice.finish_reason ?? ""),
      ...(completion.usage === undefined ? {} : usageAttributes(completion.usage))
    })
  )

/** An embeddings call, under its span (`embeddings <model>`). */
export const embeddingAttempt = (
  observer: UpstreamObserver,
  target: ResolvedModel,
  request: EmbeddingProviderRequest,
  call: Effect.Effect<EmbeddingResult, ProviderError>
): Effect.Effect<EmbeddingResult, ProviderError> =>
  observedAttempt(
    observer,
    target,
    () => ({
      name: `embeddings ${target.model.upstreamModel}`,
      options: {
        kind: "client",
        attributes: {
          ...baseAttributes("embeddings", target, request.requestId),
          ...(request.dimensions === undefined ? {} : { "gen_ai.embeddings.dimension.count": request.dimensions })
        }
      }
    }),
    call,
    (result) => (result.promptTokens === undefined ? {} : { "gen_ai.usage.input_tokens": result.promptTokens })
  )

const logUpstreamFailure = (error: ProviderError) =>
  error.reason._tag === "Auth" || error.reason._tag === "NotFound"
    ? Effect.logError(`Upstream refused the gateway (check its API key, quota and catalog): ${error.message}`)
    : error.reason._tag === "Unsupported"
      ? Effect.void
      : Effect.logWarning(`Upstream call failed: ${error.message}`)

/** Logs an attempt's failure, and passes on an answer that could not be understood: the upstream did the work, so it is billed. */
export const attemptFailed = (unreadable: (reason: ProtocolReason) => void) => (error: ProviderError) =>
  Effect.andThen(
    Effect.sync(() => {
      if (error.reason._tag === "Protocol") unreadable(error.reason)
    }),
    logUpstreamFailure(error)
  )

/**
 * A stream, under a span that lasts as long as the stream and learns its usage from the
 * usage chunk. Resilience decides when the attempt has succeeded (at its first chunk).
 */
export const streamAttempt = (
  observer: ChatObserver,
  target: ResolvedModel,
  request: ProviderRequest,
  open: Stream.Stream<ChatCompletionChunk, ProviderError>
): Stream.Stream<ChatCompletionChunk, ProviderError> => {
  observer.attemptStarted()
  const observed = Stream.tapError(open, (error) =>
    Effect.sync(() => {
      if (isFault(error)) observer.attemptEnded(target.model.id, false)
    })
  )
  return Stream.unwrap(
    whenTracing(Effect.succeed(observed), () =>
      Effect.map(Effect.makeSpanScoped(spanName(target), spanOptions(target, request)), (span) =>
        Stream.map(observed, (chunk) => {
          if (chunk.usage !== undefined && chunk.usage !== null) {
            span.attribute("gen_ai.usage.input_tokens", chunk.usage.prompt_tokens)
            span.attribute("gen_ai.usage.output_tokens", chunk.usage.completion_tokens)
          }
          return chunk
        })
      )
    )
  )
}
