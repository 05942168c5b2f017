/**
 * One chat request from validated input to answer: resolve the model, decide the
 * completion budget, call the provider through `Resilience` (breakers, retries, deadlines,
 * fallbacks). The HTTP handler only frames the result.
 */
import { Context, Effect, Layer, type Scope, Stream } from "effect"
import type { CatalogModel } from "../../domain/Catalog.ts"
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "../../domain/Chat.ts"
import type { ChatError } from "../../domain/errors.ts"
import { type ProviderError, toApiError } from "../../domain/ProviderError.ts"
import type { User } from "../../http/Api.ts"
import type { ProviderRequest } from "../../providers/Provider.ts"
import { ProviderRegistry, type ResolvedModel } from "../registry/ProviderRegistry.ts"
import { Resilience } from "../resilience/Resilience.ts"

export interface ChatInput {
  readonly user: User
  readonly request: ChatCompletionRequest
  readonly requestId: string
}

/** Facts about how a request was served, sent to the client as `x-gateway-*` headers. */
export interface ServedBy {
  /** The model that answered. */
  readonly model: CatalogModel
  readonly provider: string
  readonly maxTokens: number
  /** The model the client asked for, when a fallback answered instead. */
  readonly fallbackFrom?: string
}

export interface StreamedChat {
  readonly servedBy: ServedBy
  /** The whole stream, its first chunk already received (failures before it were reported as errors). */
  readonly chunks: Stream.Stream<ChatCompletionChunk, ChatError>
}

/** The completion budget: what the client asked for, never above the model's maximum output. */
export const requestedMaxTokens = (request: ChatCompletionRequest, model: CatalogModel): number =>
  Math.min(request.max_completion_tokens ?? request.max_tokens ?? model.maxOutputTokens, model.maxOutputTokens)

/**
 * Upstream failures are logged where they become client errors. Those only an operator
 * can fix (our key refused, our quota spent, a catalog model the upstream does not know)
 * are errors; the rest are warnings.
 */
const logUpstreamFailure = (error: ProviderError) =>
  error.reason._tag === "Auth" || error.reason._tag === "NotFound"
    ? Effect.logError(`Upstream refused the gateway (check its API key, quota and catalog): ${error.message}`)
    : error.reason._tag === "Unsupported"
      ? Effect.void
      : Effect.logWarning(`Upstream call failed: ${error.message}`)

export class ChatCompletions extends Context.Service<
  ChatCompletions,
  {
    readonly complete: (
      input: ChatInput
    ) => Effect.Effect<{ readonly servedBy: ServedBy; readonly completion: ChatCompletion }, ChatError>
    /** Opens the stream in the caller's scope and waits for its first chunk. */
    readonly stream: (input: ChatInput) => Effect.Effect<StreamedChat, ChatError, Scope.Scope>
  }
>()("gateway/ChatCompletions") {
  static readonly layer = Layer.effect(
    ChatCompletions,
    Effect.gen(function* () {
      const registry = yield* ProviderRegistry
      const resilience = yield* Resilience

      /** The request as one model of the chain sees it: a fallback answers under its own name. */
      const providerRequest = (input: ChatInput, model: CatalogModel): ProviderRequest => ({
        request: model.id === input.request.model ? input.request : { ...input.request, model: model.id },
        model,
        maxTokens: requestedMaxTokens(input.request, model),
        requestId: input.requestId
      })

      const servedBy = (input: ChatInput, { model, provider }: ResolvedModel): ServedBy => ({
        model,
        provider: provider.name,
        maxTokens: requestedMaxTokens(input.request, model),
        ...(model.id === input.request.model ? {} : { fallbackFrom: input.request.model })
      })

      const complete = Effect.fn("ChatCompletions.complete")(function* (input: ChatInput) {
        const requested = yield* registry.resolve(input.request.model)
        const { target, value: completion } = yield* resilience.complete(requested, (target) =>
          target.provider.complete(providerRequest(input, target.model)).pipe(Effect.tapError(logUpstreamFailure))
        )
        return { servedBy: servedBy(input, target), completion }
      })

      const stream = Effect.fn("ChatCompletions.stream")(function* (input: ChatInput) {
        const requested = yield* registry.resolve(input.request.model)
        // Retries and fallbacks end at the first chunk, so a failure before it is an ordinary error response.
        const { target, value: chunks } = yield* resilience.stream(requested, (target) =>
          target.provider.stream(providerRequest(input, target.model)).pipe(Stream.tapError(logUpstreamFailure))
        )
        return { servedBy: servedBy(input, target), chunks: Stream.mapError(chunks, toApiError) }
      })

      return ChatCompletions.of({ complete, stream })
    })
  )
}
