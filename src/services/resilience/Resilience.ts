/**
 * The upstream part of a chat request: the requested model, then its catalog fallbacks in
 * order. Each model gets its attempts under its circuit breaker, each attempt bounded by
 * UPSTREAM_ATTEMPT_TIMEOUT_SECONDS, with retries by the retry schedule; all of it within
 * UPSTREAM_REQUEST_TIMEOUT_SECONDS. A stream is retried only until its first chunk: after
 * that the client has bytes and nothing can be replayed.
 *
 * A non-streamed attempt returns only when its whole completion is written, so both bounds
 * stretch to the attempt's completion budget at the slowest output rate accepted
 * (`completionBoundMs`): an attempt that times out was slower than that rate, and counts
 * against its breaker. An attempt cut because the request ran out of time does not: it
 * says nothing about the upstream.
 */
import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Pull from "effect/Pull"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { GatewayConfig, upstreamTimeoutsOf } from "../../Config.ts"
import {
  ServiceUnavailable,
  type GatewayTimeout,
  type UpstreamError,
  type ValidationError
} from "../../domain/errors.ts"
import { ProviderError, TimeoutReason, toApiError, unavailableMessage } from "../../domain/ProviderError.ts"
import { completionBoundMs } from "../../providers/Bounds.ts"
import { ProviderRegistry, type ResolvedModel } from "../registry/ProviderRegistry.ts"
import { CircuitBreakers, CircuitOpen } from "./CircuitBreakers.ts"
import { ResilienceEvents } from "./ResilienceEvents.ts"
import { type AttemptFailure, isRetryable, retrySchedule } from "./RetryPolicy.ts"
import { traced } from "../telemetry/Spans.ts"

export interface Served<A> {
  /** The model that answered: the requested one or one of its fallbacks. */
  readonly target: ResolvedModel
  readonly value: A
}

/** What the client sees when no model could answer. */
export type UpstreamFailure = ServiceUnavailable | GatewayTimeout | ValidationError | UpstreamError

/** The requested model's failure is what the client sees: it is the model the client asked about. */
const toClientError = (failure: AttemptFailure): UpstreamFailure =>
  failure instanceof CircuitOpen
    ? new ServiceUnavailable({ message: unavailableMessage, retryAfterSeconds: failure.retryAfterSeconds })
    : toApiError(failure)

/** The bounds of one request's upstream part: an attempt at each model, and all of it. */
interface RequestBounds {
  readonly attemptMs: (target: ResolvedModel) => number
  readonly requestMs: number
}

const isUnreadable = (failure: AttemptFailure): boolean =>
  failure instanceof ProviderError && failure.reason._tag === "Protocol"

/** Fallbacks stand in for a model that is down, never for a request the upstream refused. */
const mayFallBack = (failure: AttemptFailure): boolean => failure instanceof CircuitOpen || isRetryable(failure)

/**
 * Opens a stream and waits for its first chunk in a scope of its own, so that a failed or
 * timed-out attempt releases its upstream connection at once, not when the request ends.
 * The rest is read from the same pull, in the context the stream was opened in: the opener's
 * services, with the attempt's scope as the scope (services the reader adds do not reach it).
 * `Stream.peel` does the same, but its pull merges that context into the reader's on every
 * pull: a copy of every service of the request for each chunk of the answer.
 */
export const firstChunk = <A>(
  stream: Stream.Stream<A, ProviderError>
): Effect.Effect<Stream.Stream<A, ProviderError>, ProviderError, Scope.Scope> =>
  Effect.gen(function* () {
    const scope = yield* Scope.fork(yield* Scope.Scope)
    const opened = Effect.gen(function* () {
      const context = Context.add(yield* Effect.context<never>(), Scope.Scope, scope)
      const opening = Channel.toTransform(stream.channel)(Cause.done(), scope)
      const pull = Effect.setContext(yield* Effect.setContext(opening, context), context)
      return yield* Pull.matchEffect(pull, {
        onSuccess: (first) => {
          let unread: Arr.NonEmptyReadonlyArray<A> | undefined = first
          const rest = Effect.suspend(() => {
            if (unread === undefined) return pull
            const out = unread
            unread = undefined
            return Effect.succeed(out)
          })
          return Effect.succeed(Stream.fromPull(Effect.succeed(rest)))
        },
        onFailure: Effect.failCause,
        onDone: () => {
          // Nothing to read: what the attempt opened is released now, not when the request ends.
          const nothing: Stream.Stream<A, ProviderError> = Stream.empty
          return Effect.as(Scope.close(scope, Exit.void), nothing)
        }
      })
    })
    return yield* Effect.onExit(opened, (exit) => (Exit.isSuccess(exit) ? Effect.void : Scope.close(scope, exit)))
  })

export class Resilience extends Context.Service<
  Resilience,
  {
    /** `budgetOf` is the completion budget (output tokens) an attempt at each model of the chain is sent with. */
    readonly complete: <A>(
      requested: ResolvedModel,
      call: (target: ResolvedModel) => Effect.Effect<A, ProviderError>,
      budgetOf: (target: ResolvedModel) => number
    ) => Effect.Effect<Served<A>, UpstreamFailure>
    /** Opens the stream in the caller's scope; the served stream starts with the first chunk. */
    readonly stream: <A>(
      requested: ResolvedModel,
      open: (target: ResolvedModel) => Stream.Stream<A, ProviderError>
    ) => Effect.Effect<Served<Stream.Stream<A, ProviderError>>, UpstreamFailure, Scope.Scope>
  }
>()("gateway/Resilience") {
  static readonly layer = Layer.effect(
    Resilience,
    Effect.gen(function* () {
      const config = yield* GatewayConfig
      const settings = config.resilience
      const registry = yield* ProviderRegistry
      const breakers = yield* CircuitBreakers
      const publish = yield* ResilienceEvents

      const timedOut = (target: ResolvedModel, afterMs: number) =>
        new ProviderError({
          provider: target.provider.name,
          model: target.model.id,
          reason: new TimeoutReason({ message: `No answer within ${afterMs / 1000} s` })
        })

      /** Streams: an attempt lasts until the first chunk, whatever the budget. */
      const streamBounds: RequestBounds = {
        attemptMs: () => Duration.toMillis(settings.attemptTimeout),
        requestMs: Duration.toMillis(settings.requestTimeout)
      }

      /** Completions: an attempt returns the whole answer, so both bounds stretch to its budget. */
      const completionBounds = (
        requested: ResolvedModel,
        budgetOf: (target: ResolvedModel) => number
      ): RequestBounds => {
        const stretched = (configuredMs: number, target: ResolvedModel) =>
          completionBoundMs(configuredMs, upstreamTimeoutsOf(config, target.model.provider), budgetOf(target))
        return {
          attemptMs: (target: ResolvedModel) => stretched(Duration.toMillis(settings.attemptTimeout), target),
          requestMs: stretched(Duration.toMillis(settings.requestTimeout), requested)
        }
      }

      /** Every attempt at one model, until one succeeds or the schedule gives up. */
      const attempts = <A, R>(
        target: ResolvedModel,
        attempt: (target: ResolvedModel) => Effect.Effect<A, ProviderError, R>,
        bounds: RequestBounds,
        deadline: number
      ): Effect.Effect<A, AttemptFailure, R> => {
        const once = Effect.gen(function* () {
          const left = deadline - (yield* Clock.currentTimeMillis)
          if (left <= 0) return yield* timedOut(target, bounds.requestMs)
          const limit = bounds.attemptMs(target)
          const guarded = breakers.guard(
            target.model.id,
            attempt(target).pipe(
              Effect.timeoutOrElse({
                duration: Duration.millis(limit),
                orElse: () => Effect.fail(timedOut(target, limit))
              })
            )
          )
          if (left >= limit) return yield* guarded
          // Cut from outside the breaker, which sees an interruption: the request's time ran out, not the upstream's.
          return yield* Effect.timeoutOrElse(guarded, {
            duration: Duration.millis(left),
            orElse: () => Effect.fail(timedOut(target, bounds.requestMs))
          })
        })
        const schedule = () =>
          retrySchedule(settings.retry, deadline).pipe(
            // A failure that opened the breaker ends the retries at once: waiting only to be refused is no use.
            Schedule.while(() => Effect.map(breakers.phaseOf(target.model.id), (phase) => phase !== "open")),
            Schedule.tap(({ input, attempt, duration }) =>
              // The schedule only goes on for provider errors; the check tells the compiler so.
              input instanceof ProviderError
                ? Effect.andThen(
                    Effect.logDebug(
                      `Retrying ${target.model.id} in ${Duration.format(duration)} after: ${input.message}`
                    ),
                    publish({
                      _tag: "RetryScheduled",
                      model: target.model.id,
                      attempt,
                      delayMs: Duration.toMillis(duration),
                      reason: input.reason._tag
                    })
                  )
                : Effect.void
            )
          )
        // Most attempts succeed: the schedule is built, and stepped, only once the first one has failed. The retry
        // then starts from that failure, so the schedule sees the same failures in the same order as a plain retry.
        return Effect.catch(once, (firstFailure) => {
          let replayed = false
          const again = Effect.suspend(() => {
            if (replayed) return once
            replayed = true
            return Effect.fail(firstFailure)
          })
          return Effect.retry(again, schedule())
        })
      }

      const run = <A, R>(
        requested: ResolvedModel,
        attempt: (target: ResolvedModel) => Effect.Effect<A, ProviderError, R>,
        bounds: RequestBounds
      ): Effect.Effect<Served<A>, UpstreamFailure, R> =>
        Effect.gen(function* () {
          const deadline = (yield* Clock.currentTimeMillis) + bounds.requestMs
          const first = yield* Effect.result(attempts(requested, attempt, bounds, deadline))
          if (Result.isSuccess(first)) return { target: requested, value: first.success }
          if (!mayFallBack(first.failure)) return yield* Effect.fail(toClientError(first.failure))
          for (const fallbackId of requested.model.fallbacks) {
            if ((yield* Clock.currentTimeMillis) >= deadline) break
            const target = yield* Effect.orDie(registry.resolve(fallbackId))
            const result = yield* Effect.result(attempts(target, attempt, bounds, deadline))
            if (Result.isSuccess(result)) return { target, value: result.success }
            // An answer that could not be understood was still a paid call: the chain stops so that it is charged.
            if (isUnreadable(result.failure)) return yield* Effect.fail(toClientError(result.failure))
            // A fallback's own refusal (say, a parameter its provider lacks) only means: try the next one.
            yield* Effect.logDebug(`Fallback ${fallbackId} of ${requested.model.id} failed: ${result.failure.message}`)
          }
          return yield* Effect.fail(toClientError(first.failure))
        })

      const complete = Effect.fnUntraced(function* <A>(
        requested: ResolvedModel,
        call: (target: ResolvedModel) => Effect.Effect<A, ProviderError>,
        budgetOf: (target: ResolvedModel) => number
      ): Effect.fn.Return<Served<A>, UpstreamFailure> {
        return yield* run(requested, call, completionBounds(requested, budgetOf))
      }, traced("Resilience.complete"))

      const stream = Effect.fnUntraced(function* <A>(
        requested: ResolvedModel,
        open: (target: ResolvedModel) => Stream.Stream<A, ProviderError>
      ): Effect.fn.Return<Served<Stream.Stream<A, ProviderError>>, UpstreamFailure, Scope.Scope> {
        return yield* run(requested, (target) => firstChunk(open(target)), streamBounds)
      }, traced("Resilience.stream"))

      return Resilience.of({ complete, stream })
    })
  ).pipe(Layer.provide([ProviderRegistry.layer, CircuitBreakers.layer]))
}
