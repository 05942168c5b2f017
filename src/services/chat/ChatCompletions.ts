/**
 * One chat request from validated input to answer: resolve the model, reserve its
 * worst-case cost (which decides the completion budget), keep the hold alive while the
 * request runs, call the provider through `Resilience` (breakers, retries, deadlines,
 * fallbacks — all under the same hold), and settle exactly once however the request ends,
 * by the charging policy of docs/billing.md. The HTTP handler only frames the result.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { CatalogModel } from "../../domain/Catalog.ts"
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "../../domain/Chat.ts"
import {
  type ChatError,
  type InsufficientBalance,
  type RateLimited,
  type ServiceUnavailable,
  ValidationError,
  wrongKind
} from "../../domain/errors.ts"
import { toApiError } from "../../domain/ProviderError.ts"
import type { User } from "../../domain/User.ts"
import type { ProviderRequest } from "../../providers/Provider.ts"
import { Billing, type Hold, type Settlement } from "../billing/Billing.ts"
import {
  type Outcome,
  outcomeOfCompletion,
  type Reservation,
  reservationFor,
  tokenizerCharge
} from "../billing/Metering.ts"
import { StreamMeter } from "../billing/StreamMeter.ts"
import { ModelCatalog } from "../registry/ModelCatalog.ts"
import { ProviderRegistry, type ResolvedModel } from "../registry/ProviderRegistry.ts"
import { Resilience } from "../resilience/Resilience.ts"
import type { ChatObserver } from "./ChatObserver.ts"
import { heldCall, settleObserved } from "./HeldCall.ts"
import { attemptFailed, completionAttempt, streamAttempt } from "./UpstreamAttempt.ts"
import { traced } from "../telemetry/Spans.ts"

/** What every model request (chat or embeddings) brings from the HTTP layer besides its body. */
export interface ModelRequestInput<Observer> {
  readonly user: User
  readonly requestId: string
  /** Told what the request goes through (timings, the answering model, usage, cost) for metrics, logs and exporters. */
  readonly observer: Observer
  /**
   * The rate limiter's verdict, decided concurrently with the reserve: awaited after the hold is
   * taken and before any upstream call; a refusal releases the hold.
   */
  readonly admission: Effect.Effect<void, RateLimited>
  /** Run as each upstream attempt starts: only requests that reach a provider count against the global limit. */
  readonly upstreamCalled: Effect.Effect<void>
  /** The per-user token limit, when it is on. */
  readonly tokens?: TokenAdmission | undefined
}

/** How a request meets the per-user token limit (docs/rate-limits.md). */
export interface TokenAdmission {
  /** Tokens per rolling minute. */
  readonly limit: number
  /** Starts the limiter's decision on the request's token upper bound, before the reserve (the verdict is `admission`). */
  readonly admit: (tokens: number) => Effect.Effect<void, RateLimited>
  /** The tokens the request used, as billed, when it settles. */
  readonly settled: (tokens: number) => Effect.Effect<void>
}

export interface ChatInput extends ModelRequestInput<ChatObserver> {
  readonly request: ChatCompletionRequest
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

/**
 * The completion budget the client asks for: its `max_completion_tokens` or `max_tokens`, else the
 * model's maximum output (the reservation then lowers it to what the balance pays for). A limit
 * above the model's maximum is refused, naming the field, as OpenAI refuses it: clamping it would
 * silently end answers earlier than the client asked.
 */
export const requestedMaxTokens = (
  request: ChatCompletionRequest,
  model: CatalogModel
): Result.Result<number, ValidationError> => {
  const [field, limit] =
    request.max_completion_tokens !== undefined && request.max_completion_tokens !== null
      ? ["max_completion_tokens", request.max_completion_tokens]
      : ["max_tokens", request.max_tokens ?? undefined]
  if (limit === undefined) return Result.succeed(model.maxOutputTokens)
  if (limit <= model.maxOutputTokens) return Result.succeed(limit)
  return Result.fail(
    new ValidationError({
      message: `${field} is too large: ${limit}. The model ${model.id} supports at most ${model.maxOutputTokens} completion tokens.`,
      param: field
    })
  )
}

/**
 * The reservation as the token limit bounds it: a request whose prompt ceiling plus completion budget × `n` exceeds
 * the limit could never be admitted. Without a budget from the client, the model's maximum is lowered to what
 * the limit leaves after the prompt (as the reserve lowers it to what the balance pays for); a budget the client
 * set is refused, naming its field, as is a prompt that leaves no room for one token per choice.
 */
export const withinTokenLimit = (
  request: ChatCompletionRequest,
  reservation: Reservation,
  limit: number
): Result.Result<Reservation, ValidationError> => {
  const { promptTokens, choices, maxTokens } = reservation
  if (promptTokens + maxTokens * choices <= limit) return Result.succeed(reservation)
  const field =
    request.max_completion_tokens !== undefined && request.max_completion_tokens !== null
      ? "max_completion_tokens"
      : request.max_tokens !== undefined && request.max_tokens !== null
        ? "max_tokens"
        : undefined
  const room = Math.floor((limit - promptTokens) / choices)
  if (field === undefined && room >= 1) return Result.succeed({ ...reservation, maxTokens: room })
  const reason =
    field === undefined
      ? `Its prompt may use up to ${promptTokens} tokens, which leaves no room for an answer`
      : `Its prompt may use up to ${promptTokens} tokens and ${field} is ${maxTokens}${choices > 1 ? ` for each of ${choices} choices` : ""}`
  return Result.fail(
    new ValidationError({
      message:
        `This request can never fit in the per-user limit of ${limit} tokens per minute. ${reason}` +
        (field === undefined ? "; shorten the prompt." : `; lower ${field}.`),
      ...(field === undefined ? {} : { param: field })
    })
  )
}

/** The token limit's correction, told each settle's outcome: a request holds its prompt and completion, as billed. */
export const tokensSettled =
  (tokens: TokenAdmission | undefined) =>
  (outcome: Outcome): Effect.Effect<void> =>
    tokens?.settled(outcome._tag === "Charge" ? outcome.promptTokens + outcome.completionTokens : 0) ?? Effect.void

export class ChatCompletions extends Context.Service<
  ChatCompletions,
  {
    readonly complete: (input: ChatInput) => Effect.Effect<CompletedChat, ChatError | RateLimited>
    /** Opens the stream in the caller's scope and waits for its first chunk; settles when the scope closes. */
    readonly stream: (input: ChatInput) => Effect.Effect<StreamedChat, ChatError | RateLimited, Scope.Scope>
  }
>()("gateway/ChatCompletions") {
  static readonly layerNoDeps = Layer.effect(
    ChatCompletions,
    Effect.gen(function* () {
      const registry = yield* ProviderRegistry
      const resilience = yield* Resilience
      const catalog = yield* ModelCatalog
      const billing = yield* Billing

      /** With the token limit on, starts the limiter's decision on the request's upper bound: it overlaps the reserve. */
      const admitTokens = (
        input: ChatInput,
        reservation: Reservation
      ): Effect.Effect<Reservation, ValidationError | RateLimited> => {
        const { tokens } = input
        if (tokens === undefined) return Effect.succeed(reservation)
        const bounded = withinTokenLimit(input.request, reservation, tokens.limit)
        if (Result.isFailure(bounded)) return Effect.fail(bounded.failure)
        const { promptTokens, maxTokens, choices } = bounded.success
        return Effect.as(tokens.admit(promptTokens + maxTokens * choices), bounded.success)
      }

      const reserve = (
        input: ChatInput,
        model: CatalogModel
      ): Effect.Effect<Hold, InsufficientBalance | ServiceUnavailable | ValidationError | RateLimited> => {
        const maxTokens = requestedMaxTokens(input.request, model)
        if (Result.isFailure(maxTokens)) return Effect.fail(maxTokens.failure)
        const reservation = reservationFor({
          userId: input.user.id,
          requestId: input.requestId,
          request: input.request,
          model,
          // Fallbacks answer under the same hold, so it covers the most expensive of them.
          candidates: model.fallbacks.flatMap((id) => catalog.find(id) ?? []),
          maxTokens: maxTokens.success
        })
        return Result.isSuccess(reservation)
          ? Effect.flatMap(admitTokens(input, reservation.success), billing.reserve)
          : Effect.fail(new ValidationError(reservation.failure))
      }

      /** The completion budget of one model of the chain: what the hold pays for, within the model's maximum. */
      const budgetOf = (hold: Hold, model: CatalogModel) => Math.min(hold.maxTokens, model.maxOutputTokens)

      /** The request as one model of the chain sees it: a fallback answers under its own name. */
      const providerRequest = (input: ChatInput, model: CatalogModel, hold: Hold): ProviderRequest => ({
        request: model.id === input.request.model ? input.request : { ...input.request, model: model.id },
        model,
        maxTokens: budgetOf(hold, model),
        requestId: input.requestId
      })

      /** `requested` is the entry the client named (by its id or an alias); another one that answered is a fallback. */
      const servedBy = (
        input: ChatInput,
        requested: CatalogModel,
        { model, provider }: ResolvedModel,
        hold: Hold
      ): ServedBy => ({
        model,
        provider: provider.name,
        maxTokens: budgetOf(hold, model),
        ...(model.id === requested.id ? {} : { fallbackFrom: input.request.model })
      })

      /**
       * Both paths begin alike: the model the client named is resolved (a chat model: embedding models answer on
       * /v1/embeddings only), and the observer learns which path serves it.
       */
      const start = (input: ChatInput, stream: boolean) =>
        Effect.flatMap(registry.resolve(input.request.model), (requested) => {
          if (requested.model.kind !== "chat") return Effect.fail(wrongKind(input.request.model, requested.model))
          input.observer.chatStarted(requested.model, input.request, stream)
          return Effect.succeed(requested)
        })

      const settle = (input: ChatInput, hold: Hold, outcome: Outcome) =>
        Effect.andThen(tokensSettled(input.tokens)(outcome), settleObserved(billing, input.observer, hold, outcome))

      const complete = Effect.fnUntraced(function* (input: ChatInput) {
        const { observer } = input
        const requested = yield* start(input, false)
        const { hold, served, settlement } = yield* heldCall({
          billing,
          observer,
          admission: input.admission,
          settled: tokensSettled(input.tokens),
          reserve: reserve(input, requested.model),
          call: (hold, unreadable) =>
            resilience.complete(
              requested,
              (target) => {
                const request = providerRequest(input, target.model, hold)
                return Effect.andThen(
                  input.upstreamCalled,
                  completionAttempt(
                    observer,
                    target,
                    request,
                    target.provider
                      .complete(request)
                      .pipe(
                        Effect.tapError(
                          attemptFailed((reason) =>
                            unreadable(tokenizerCharge(input.request, target.model, reason.completionText ?? ""))
                          )
                        )
                      )
                  )
                )
              },
              (target) => budgetOf(hold, target.model)
            ),
          outcomeOf: ({ target, value }) => outcomeOfCompletion(input.request, value, target.model)
        })
        const { target, value: completion } = served
        observer.completed(target.model, target.provider.name, completion)
        return { servedBy: servedBy(input, requested.model, target, hold), completion, settlement }
      }, traced("ChatCompletions.complete"))

      const stream = Effect.fnUntraced(function* (input: ChatInput) {
        const { observer } = input
        const requested = yield* start(input, true)
        const meter = new StreamMeter(input.request)
        let answering = requested.model
        // Settled when the request's scope closes: after the last byte, a client disconnect, or a failure.
        const hold = yield* Effect.acquireRelease(reserve(input, requested.model), (hold) =>
          settle(input, hold, meter.outcome(answering))
        )
        // A refusal closes the scope before anything was sent upstream: the settle above releases the hold.
        yield* input.admission
        // No longer renewed once the scope closes, before the settle (finalisers run in reverse).
        yield* billing.keepAlive(hold, () => meter.sofar(answering))
        // Retries and fallbacks end at the first chunk, so a failure before it is an ordinary error response.
        observer.upstreamStarted()
        const { target, value: chunks } = yield* resilience
          .stream(requested, (target) => {
            const request = providerRequest(input, target.model, hold)
            return Stream.unwrap(
              Effect.as(
                input.upstreamCalled,
                streamAttempt(
                  observer,
                  target,
                  request,
                  target.provider.stream(request).pipe(
                    // Metered as it arrives from the upstream, not as the client reads it: the first chunk is received
                    // before the response starts, and a client that leaves before reading it is still charged.
                    Stream.map((chunk) => {
                      meter.observe(chunk)
                      return chunk
                    }),
                    Stream.tapError(attemptFailed((reason) => meter.unreadable(target.model, reason)))
                  )
                )
              )
            )
          })
          .pipe(Effect.ensuring(Effect.sync(() => observer.upstreamEnded())))
        observer.streamAnswered(target.model, target.provider.name)
        answering = target.model
        const metered = chunks.pipe(
          Stream.map((chunk) => {
            observer.streamed(chunk)
            return chunk
          }),
          Stream.tapError((error) => Effect.sync(() => meter.failed(error))),
          Stream.onEnd(Effect.sync(() => meter.completed())),
          Stream.ensuring(Effect.sync(() => observer.streamEnded())),
          Stream.mapError(toApiError)
        )
        return { servedBy: servedBy(input, requested.model, target, hold), chunks: metered }
      }, traced("ChatCompletions.stream"))

      return ChatCompletions.of({ complete, stream })
    })
  )

  static readonly layer = this.layerNoDeps.pipe(
    Layer.provide([ProviderRegistry.layer, Resilience.layer, ModelCatalog.layer, Billing.layer])
  )

  /** Over a Billing that never refuses and keeps nothing, for suites that test something else on TestClock. */
  static readonly layerTest = this.layerNoDeps.pipe(
    Layer.provide([ProviderRegistry.layer, Resilience.layer, ModelCatalog.layer, Billing.layerTest])
  )
}
