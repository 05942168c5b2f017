/**
 * One chat request from validated input to answer: resolve the model, decide the
 * completion budget, call the provider. The HTTP handler only frames the result.
 */
import { Context, Effect, Layer, type Scope, Sink, Stream } from "effect"
import type { CatalogModel } from "../../domain/Catalog.ts"
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "../../domain/Chat.ts"
import type { ChatError } from "../../domain/errors.ts"
import { type ProviderError, toApiError } from "../../domain/ProviderError.ts"
import type { User } from "../../http/Api.ts"
import type { ProviderRequest } from "../../providers/Provider.ts"
import { ProviderRegistry } from "../registry/ProviderRegistry.ts"

export interface ChatInput {
  readonly user: User
  readonly request: ChatCompletionRequest
  readonly requestId: string
}

/** Facts about how a request was served, sent to the client as `x-gateway-*` headers. */
export interface ServedBy {
  readonly model: CatalogModel
  readonly provider: string
  readonly maxTokens: number
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

      const prepare = Effect.fnUntraced(function* (input: ChatInput) {
        const { model, provider } = yield* registry.resolve(input.request.model)
        const providerRequest: ProviderRequest = {
          request: input.request,
          model,
          maxTokens: requestedMaxTokens(input.request, model),
          requestId: input.requestId
        }
        const servedBy: ServedBy = { model, provider: provider.name, maxTokens: providerRequest.maxTokens }
        return { provider, providerRequest, servedBy }
      })

      const complete = Effect.fn("ChatCompletions.complete")(function* (input: ChatInput) {
        const { provider, providerRequest, servedBy } = yield* prepare(input)
        const completion = yield* provider
          .complete(providerRequest)
          .pipe(Effect.tapError(logUpstreamFailure), Effect.mapError(toApiError))
        return { servedBy, completion }
      })

      const stream = Effect.fn("ChatCompletions.stream")(function* (input: ChatInput) {
        const { provider, providerRequest, servedBy } = yield* prepare(input)
        const upstream = provider
          .stream(providerRequest)
          .pipe(Stream.tapError(logUpstreamFailure), Stream.mapError(toApiError))
        // Wait for the first chunk so that a failure before it is an ordinary error response.
        const [first, rest] = yield* Stream.peel(upstream, Sink.take<ChatCompletionChunk>(1))
        return { servedBy, chunks: Stream.concat(Stream.fromIterable(first), rest) }
      })

      return ChatCompletions.of({ complete, stream })
    })
  )
}
