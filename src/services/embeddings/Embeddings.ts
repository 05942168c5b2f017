/**
 * One embeddings request from validated input to answer, through the chat pipeline's parts:
 * resolve the model (an embedding model), reserve the inputs' worst-case cost, keep the hold
 * alive, call the provider through `Resilience` (breakers, retries, deadlines, catalog
 * fallbacks), and settle exactly once — input tokens only, from the provider's usage, else the
 * gateway's tokenizer. The HTTP handler only frames the result.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import type { CatalogModel } from "../../domain/Catalog.ts"
import {
  base64Vector,
  type EmbeddingInputs,
  type EmbeddingList,
  embeddingInputsOf,
  type EmbeddingRequest
} from "../../domain/Embeddings.ts"
import {
  type ChatError,
  type InsufficientBalance,
  type RateLimited,
  type ServiceUnavailable,
  ValidationError,
  wrongKind
} from "../../domain/errors.ts"
import { ProviderError, UnsupportedReason } from "../../domain/ProviderError.ts"
import type { EmbeddingProviderRequest, EmbeddingResult } from "../../providers/Provider.ts"
import { Billing, type Hold, type Settlement } from "../billing/Billing.ts"
import { embeddingCharge, embeddingReservation } from "../billing/EmbeddingMetering.ts"
import { type ModelRequestInput, tokensSettled } from "../chat/ChatCompletions.ts"
import type { EmbeddingObserver } from "../chat/ChatObserver.ts"
import { heldCall } from "../chat/HeldCall.ts"
import { attemptFailed, embeddingAttempt } from "../chat/UpstreamAttempt.ts"
import { ModelCatalog } from "../registry/ModelCatalog.ts"
import { ProviderRegistry, type ResolvedModel } from "../registry/ProviderRegistry.ts"
import { Resilience } from "../resilience/Resilience.ts"
import { traced } from "../telemetry/Spans.ts"

export interface EmbeddingInput extends ModelRequestInput<EmbeddingObserver> {
  readonly request: EmbeddingRequest
  /** The end user as providers see it (ProviderUserId.ts), never the body's `user`. */
  readonly providerUser: string | undefined
}

export interface Embedded {
  /** The model that answered, and its provider. */
  readonly model: CatalogModel
  readonly provider: string
  /** The model the client asked for, when a fallback answered instead. */
  readonly fallbackFrom?: string
  readonly list: EmbeddingList
  /** What the request cost; undefined only when billing could not record it. */
  readonly settlement: Settlement | undefined
}

const check = <A>(result: Result.Result<A, ValidationError>) =>
  Result.isSuccess(result) ? Effect.succeed(result.success) : Effect.fail(result.failure)

/** An embedding model that makes vectors of the length asked for. */
const checkModel = (request: EmbeddingRequest, model: CatalogModel): Result.Result<void, ValidationError> => {
  if (model.kind !== "embedding") return Result.fail(wrongKind(request.model, model))
  const asked = request.dimensions ?? undefined
  if (asked !== undefined && model.dimensions !== undefined && asked > model.dimensions) {
    return Result.fail(
      new ValidationError({
        message: `dimensions is too large: ${asked}. The model ${model.id} makes vectors of at most ${model.dimensions} dimensions.`,
        param: "dimensions"
      })
    )
  }
  return Result.void
}

/** The answer in OpenAI's shape, vectors as floats or base64 as asked. */
const toList = (request: EmbeddingRequest, model: CatalogModel, result: EmbeddingResult, promptTokens: number) => {
  const base64 = request.encoding_format === "base64"
  const list: EmbeddingList = {
    object: "list",
    data: result.vectors.map((vector, index) => ({
      object: "embedding",
      index,
      embedding: base64 ? base64Vector(vector) : vector
    })),
    model: model.id,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens }
  }
  return list
}

export class Embeddings extends Context.Service<
  Embeddings,
  { readonly embed: (input: EmbeddingInput) => Effect.Effect<Embedded, ChatError | RateLimited> }
>()("gateway/Embeddings") {
  static readonly layerNoDeps = Layer.effect(
    Embeddings,
    Effect.gen(function* () {
      const registry = yield* ProviderRegistry
      const resilience = yield* Resilience
      const catalog = yield* ModelCatalog
      const billing = yield* Billing

      /** With the token limit on, the limiter's decision starts on the inputs' ceiling, just before the reserve. */
      const reserve = (
        input: EmbeddingInput,
        inputs: EmbeddingInputs,
        model: CatalogModel
      ): Effect.Effect<Hold, InsufficientBalance | ServiceUnavailable | ValidationError | RateLimited> => {
        const reservation = embeddingReservation({
          userId: input.user.id,
          requestId: input.requestId,
          inputs,
          model,
          // Fallbacks answer under the same hold, so it covers the most expensive of them.
          candidates: model.fallbacks.flatMap((id) => catalog.find(id) ?? [])
        })
        const { tokens } = input
        if (tokens === undefined) return billing.reserve(reservation)
        if (reservation.promptTokens > tokens.limit) {
          return Effect.fail(
            new ValidationError({
              message:
                `This request can never fit in the per-user limit of ${tokens.limit} tokens per minute: its input ` +
                `may use up to ${reservation.promptTokens} tokens; send fewer or shorter inputs.`,
              param: "input"
            })
          )
        }
        return Effect.andThen(tokens.admit(reservation.promptTokens), billing.reserve(reservation))
      }

      /** One attempt at one model of the chain; a provider without embeddings refuses before any call. */
      const attempt = (request: EmbeddingProviderRequest, target: ResolvedModel) =>
        target.provider.embed === undefined
          ? Effect.fail(
              new ProviderError({
                provider: target.provider.name,
                model: target.model.id,
                reason: new UnsupportedReason({ message: `${target.provider.name} has no embeddings API` })
              })
            )
          : target.provider.embed(request)

      const embed = Effect.fnUntraced(function* (input: EmbeddingInput) {
        const { observer, request } = input
        const inputs = yield* check(embeddingInputsOf(request.input))
        const requested = yield* registry.resolve(request.model)
        yield* check(checkModel(request, requested.model))
        observer.embeddingStarted(requested.model)
        const { served, outcome, settlement } = yield* heldCall({
          billing,
          observer,
          admission: input.admission,
          settled: tokensSettled(input.tokens),
          reserve: reserve(input, inputs, requested.model),
          call: (_hold, unreadable) =>
            resilience.complete(
              requested,
              (target) => {
                const providerRequest: EmbeddingProviderRequest = {
                  inputs,
                  model: target.model,
                  dimensions: request.dimensions ?? undefined,
                  user: input.providerUser,
                  requestId: input.requestId
                }
                return Effect.andThen(
                  input.upstreamCalled,
                  embeddingAttempt(
                    observer,
                    target,
                    providerRequest,
                    attempt(providerRequest, target).pipe(
                      // An answer that could not be read was still embedded: the tokenizer counts it.
                      Effect.tapError(attemptFailed(() => unreadable(embeddingCharge(inputs, target.model, undefined))))
                    )
                  )
                )
              },
              // No output: a call is bounded by the configured timeouts alone.
              () => 0
            ),
          outcomeOf: ({ target, value }) => embeddingCharge(inputs, target.model, value.promptTokens)
        })
        const { target, value } = served
        observer.embedded(target.model, target.provider.name)
        return {
          model: target.model,
          provider: target.provider.name,
          ...(target.model.id === requested.model.id ? {} : { fallbackFrom: request.model }),
          list: toList(request, target.model, value, outcome._tag === "Charge" ? outcome.promptTokens : 0),
          settlement
        } satisfies Embedded
      }, traced("Embeddings.embed"))

      return Embeddings.of({ embed })
    })
  )

  static readonly layer = this.layerNoDeps.pipe(
    Layer.provide([ProviderRegistry.layer, Resilience.layer, ModelCatalog.layer, Billing.layer])
  )
}
