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
import { type ChatError, type RateLimited, ValidationError, wrongKind } from "../../domain/errors.ts"
import { ProviderError, UnsupportedReason } from "../../domain/ProviderError.ts"
import type { User } from "../../domain/User.ts"
import type { EmbeddingProviderRequest, EmbeddingResult } from "../../providers/Provider.ts"
import { Billing, type Hold, type Settlement } from "../billing/Billing.ts"
import { embeddingCharge, embeddingReservation } from "../billing/EmbeddingMetering.ts"
import { type Outcome, release } from "../billing/Metering.ts"
import type { EmbeddingObserver } from "../chat/ChatObserver.ts"
import { attemptFailed, embeddingAttempt } from "../chat/UpstreamAttempt.ts"
import { ModelCatalog } from "../registry/ModelCatalog.ts"
import { ProviderRegistry, type ResolvedModel } from "../registry/ProviderRegistry.ts"
import { Resilience } from "../resilience/Resilience.ts"

export interface EmbeddingInput {
  readonly user: User
  readonly request: EmbeddingRequest
  /** The end user as providers see it (ProviderUserId.ts), never the body's `user`. */
  readonly providerUser: string | undefined
  readonly requestId: string
  readonly observer: EmbeddingObserver
  /** The rate limiter's verdict, awaited after the hold is taken; a refusal releases the hold. */
  readonly admission: Effect.Effect<void, RateLimited>
  /** Run as each upstream attempt starts. */
  readonly upstreamCalled: Effect.Effect<void>
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
const toList = (request: EmbeddingRequest, model: CatalogModel, result: EmbeddingResult, charged: Outcome) => {
  const base64 = request.encoding_format === "base64"
  const promptTokens = charged._tag === "Charge" ? charged.promptTokens : 0
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

      const reserve = (input: EmbeddingInput, inputs: EmbeddingInputs, model: CatalogModel) =>
        billing.reserve(
          embeddingReservation({
            userId: input.user.id,
            requestId: input.requestId,
            inputs,
            model,
            // Fallbacks answer under the same hold, so it covers the most expensive of them.
            candidates: model.fallbacks.flatMap((id) => catalog.find(id) ?? [])
          })
        )

      const settle = (input: EmbeddingInput, hold: Hold, outcome: Outcome) =>
        Effect.map(billing.settle(hold, outcome), (settlement) => {
          input.observer.settled(outcome, settlement)
          return settlement
        })

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

      const embed = Effect.fn("Embeddings.embed")(function* (input: EmbeddingInput) {
        const { observer, request } = input
        const inputs = yield* check(embeddingInputsOf(request.input))
        const requested = yield* registry.resolve(request.model)
        yield* check(checkModel(request, requested.model))
        observer.embeddingStarted(requested.model)
        // Reserve and settle cannot be interrupted; only the upstream call can (a client that leaves).
        return yield* Effect.uninterruptibleMask((restore) =>
          Effect.gen(function* () {
            const hold = yield* reserve(input, inputs, requested.model)
            yield* Effect.onError(input.admission, () => settle(input, hold, release))
            observer.upstreamStarted()
            let unreadable: Outcome = release
            const call = resilience.complete(
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
                      Effect.tapError(
                        // An answer that could not be read was still embedded: the tokenizer counts it.
                        attemptFailed(() => {
                          unreadable = embeddingCharge(inputs, target.model, undefined)
                        })
                      )
                    )
                  )
                )
              },
              // No output: a call is bounded by the configured timeouts alone.
              () => 0
            )
            const answer = yield* Effect.exit(
              restore(
                Effect.scoped(
                  Effect.andThen(
                    billing.keepAlive(hold, () => release),
                    call
                  )
                )
              )
            )
            observer.upstreamEnded()
            const outcome =
              answer._tag === "Success"
                ? embeddingCharge(inputs, answer.value.target.model, answer.value.value.promptTokens)
                : unreadable
            const settlement = yield* settle(input, hold, outcome)
            const { target, value } = yield* answer
            observer.embedded(target.model, target.provider.name)
            return {
              model: target.model,
              provider: target.provider.name,
              ...(target.model.id === requested.model.id ? {} : { fallbackFrom: request.model }),
              list: toList(request, target.model, value, outcome),
              settlement
            } satisfies Embedded
          })
        )
      })

      return Embeddings.of({ embed })
    })
  )

  static readonly layer = this.layerNoDeps.pipe(
    Layer.provide([ProviderRegistry.layer, Resilience.layer, ModelCatalog.layer, Billing.layer])
  )
}
