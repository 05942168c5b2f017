/**
 * One chat request from validated input to answer: resolve the model, reserve its
 * worst-case cost (which decides the completion budget), call the provider, and settle
 * exactly once however the request ends. The HTTP handler only frames the result.
 */
import { Context, Effect, Layer, type Scope, Sink, Stream } from "effect"
import type { CatalogModel } from "../../domain/Catalog.ts"
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "../../domain/Chat.ts"
import type { ChatError } from "../../domain/errors.ts"
import { toApiError } from "../../domain/ProviderError.ts"
import type { User } from "../../http/Api.ts"
import type { ProviderRequest } from "../../providers/Provider.ts"
import { Billing, type Hold, type Settlement } from "../billing/Billing.ts"
import { outcomeOfCompletion, release, reservationFor, StreamMeter } from "../billing/Metering.ts"
import { ModelCatalog } from "../registry/ModelCatalog.ts"
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

export interface CompletedChat {
  readonly servedBy: ServedBy
  readonly completion: ChatCompletion
  /** What the request cost; undefined only when billing could not record it. */
  readonly settlement: Settlement | undefined
}

export interface StreamedChat {
  readonly servedBy: ServedBy
  /** The whole stream, its first chunk already received (failures before it were reported as errors). */
  readonly chunks: Stream.Stream<ChatCompletionChunk, ChatError>
}

/** The completion budget: what the client asked for, never above the model's maximum output. */
export const requestedMaxTokens = (request: ChatCompletionRequest, model: CatalogModel): number =>
  Math.min(request.max_completion_tokens ?? request.max_tokens ?? model.maxOutputTokens, model.maxOutputTokens)

export class ChatCompletions extends Context.Service<
  ChatCompletions,
  {
    readonly complete: (input: ChatInput) => Effect.Effect<CompletedChat, ChatError>
    /** Opens the stream in the caller's scope and waits for its first chunk; settles when the scope closes. */
    readonly stream: (input: ChatInput) => Effect.Effect<StreamedChat, ChatError, Scope.Scope>
  }
>()("gateway/ChatCompletions") {
  static readonly layer = Layer.effect(
    ChatCompletions,
    Effect.gen(function* () {
      const registry = yield* ProviderRegistry
      const catalog = yield* ModelCatalog
      const billing = yield* Billing

      /** The catalog entry of the model that answered, by the id its answer carries; its prices apply. */
      const answeredBy = (modelId: string | undefined, requested: CatalogModel): CatalogModel =>
        (modelId === undefined ? undefined : catalog.find(modelId)) ?? requested

      const reserve = (input: ChatInput, model: CatalogModel) =>
        billing.reserve(
          reservationFor({
            userId: input.user.id,
            requestId: input.requestId,
            request: input.request,
            model,
            // Fallbacks answer under the same hold, so it covers the most expensive of them.
            candidates: model.fallbacks.flatMap((id) => catalog.find(id) ?? []),
            maxTokens: requestedMaxTokens(input.request, model)
          })
        )

      const upstreamRequest = (input: ChatInput, model: CatalogModel, hold: Hold): ProviderRequest => ({
        request: input.request,
        model,
        maxTokens: hold.maxTokens,
        requestId: input.requestId
      })

      const complete = Effect.fn("ChatCompletions.complete")(function* (input: ChatInput) {
        const { model, provider } = yield* registry.resolve(input.request.model)
        // Reserve and settle cannot be interrupted; only the upstream call can (a client that leaves).
        return yield* Effect.uninterruptibleMask((restore) =>
          Effect.gen(function* () {
            const hold = yield* reserve(input, model)
            const answer = yield* Effect.exit(restore(provider.complete(upstreamRequest(input, model, hold))))
            const settlement = yield* billing.settle(
              hold,
              answer._tag === "Success"
                ? outcomeOfCompletion(input.request, answer.value, answeredBy(answer.value.model, model))
                : release
            )
            const completion = yield* Effect.mapError(answer, toApiError)
            const servedBy: ServedBy = { model, provider: provider.name, maxTokens: hold.maxTokens }
            return { servedBy, completion, settlement }
          })
        )
      })

      const stream = Effect.fn("ChatCompletions.stream")(function* (input: ChatInput) {
        const { model, provider } = yield* registry.resolve(input.request.model)
        const meter = new StreamMeter()
        // Settled when the request's scope closes: after the last byte, a client disconnect, or a failure.
        const hold = yield* Effect.acquireRelease(reserve(input, model), (hold) =>
          billing.settle(hold, meter.outcome(input.request, answeredBy(meter.answeringModelId, model)))
        )
        const upstream = provider.stream(upstreamRequest(input, model, hold)).pipe(
          Stream.map((chunk) => {
            meter.observe(chunk)
            return chunk
          }),
          Stream.mapError(toApiError)
        )
        // Wait for the first chunk so that a failure before it is an ordinary error response.
        const [first, rest] = yield* Stream.peel(upstream, Sink.take<ChatCompletionChunk>(1))
        const servedBy: ServedBy = { model, provider: provider.name, maxTokens: hold.maxTokens }
        return { servedBy, chunks: Stream.concat(Stream.fromIterable(first), rest) }
      })

      return ChatCompletions.of({ complete, stream })
    })
  )
}
