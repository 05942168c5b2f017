/**
 * One circuit breaker per model, each a `CircuitBreaker` state machine in a Ref. Every
 * upstream attempt goes through `guard`: refused at once while its model's breaker is
 * open, and its outcome moves the breaker. Only upstream faults (the `ProviderError`
 * reason decides) count as failures; client-caused errors and cancelled calls never do.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import { GatewayConfig } from "../../Config.ts"
import { isUpstreamFault, ProviderError } from "../../domain/ProviderError.ts"
import { ModelCatalog } from "../registry/ModelCatalog.ts"
import * as CircuitBreaker from "./CircuitBreaker.ts"
import { ResilienceEvents } from "./ResilienceEvents.ts"

/** A call refused without reaching the upstream, because the model's breaker is open. */
export class CircuitOpen extends Schema.TaggedError<CircuitOpen>()("CircuitOpen", {
  model: Schema.String,
  retryAfterSeconds: Schema.Int
}) {
  override get message(): string {
    return `The circuit breaker of ${this.model} is open; retry in ${this.retryAfterSeconds} s`
  }
}

export interface BreakerSnapshot {
  readonly model: string
  readonly state: CircuitBreaker.BreakerPhase
  readonly failureCount: number
  /** Epoch milliseconds. */
  readonly lastFailureAt: number | undefined
}

const outcomeOf = <A>(exit: Exit.Exit<A, ProviderError>): CircuitBreaker.Outcome => {
  if (Exit.isSuccess(exit)) return "success"
  const error = Cause.findErrorOption(exit.cause)
  return Option.isSome(error) && error.value instanceof ProviderError && isUpstreamFault(error.value.reason)
    ? "failure"
    : "neutral"
}

/**
 * Breakers are kept per process. With several workers (WEB_CONCURRENCY) taking connections in turn, a failing
 * model's attempts are spread over them, so each worker opens its breaker after its share of the configured
 * threshold (rounded up, at least 1): the gateway as a whole opens after about CIRCUIT_BREAKER_FAILURE_THRESHOLD
 * failures, not that many per worker. Recovery and half-open probes stay per worker: each worker probes on its
 * own after the recovery timeout.
 */
export const perWorker = <S extends CircuitBreaker.BreakerSettings>(settings: S, workers: number): S => ({
  ...settings,
  failureThreshold: Math.max(1, Math.ceil(settings.failureThreshold / workers))
})

export class CircuitBreakers extends Context.Service<
  CircuitBreakers,
  {
    /** Runs one upstream attempt under the breaker of `model`. */
    readonly guard: <A, R>(
      model: string,
      attempt: Effect.Effect<A, ProviderError, R>
    ) => Effect.Effect<A, ProviderError | CircuitOpen, R>
    /** The phase of one model's breaker as of now. */
    readonly phaseOf: (model: string) => Effect.Effect<CircuitBreaker.BreakerPhase>
    /** Every model's breaker as of now, in catalog order. */
    readonly snapshot: Effect.Effect<ReadonlyArray<BreakerSnapshot>>
  }
>()("gateway/CircuitBreakers") {
  static readonly layer = Layer.effect(
    CircuitBreakers,
    Effect.gen(function* () {
      const { resilience, processes } = yield* GatewayConfig
      const catalog = yield* ModelCatalog
      const publish = yield* ResilienceEvents
      const { recoveryTimeout, ...breaker } = resilience.breaker
      const settings = perWorker(
        { ...breaker, recoveryTimeoutMs: Duration.toMillis(recoveryTimeout) },
        processes.webConcurrency
      )

      if (!settings.enabled) {
        return CircuitBreakers.of({
          guard: (_model, attempt) => attempt,
          phaseOf: () => Effect.succeed("closed"),
          snapshot: Effect.succeed(
            catalog.models.map((model) => ({
              model: model.id,
              state: "closed" as const,
              failureCount: 0,
              lastFailureAt: undefined
            }))
          )
        })
      }

      const breakers = new Map(catalog.models.map((model) => [model.id, Ref.makeUnsafe(CircuitBreaker.initial)]))
      const breakerOf = (model: string) => {
        let breaker = breakers.get(model)
        if (breaker === undefined) {
          breaker = Ref.makeUnsafe(CircuitBreaker.initial)
          breakers.set(model, breaker)
        }
        return breaker
      }

      const announce = (model: string, before: CircuitBreaker.Breaker, after: CircuitBreaker.Breaker, now: number) => {
        // An open breaker half-opens at its recovery time, even when the first to notice comes later.
        const at =
          before.phase === "open" && after.phase === "half_open" ? CircuitBreaker.recoversAt(before, settings) : now
        const log =
          after.phase === "open"
            ? Effect.logWarning(
                `Circuit breaker of ${model} opened after ${after.failures} consecutive upstream failures; ` +
                  `calls are refused for ${settings.recoveryTimeoutMs / 1000} s`
              )
            : Effect.logInfo(`Circuit breaker of ${model}: ${before.phase} → ${after.phase}`)
        return Effect.andThen(
          log,
          publish({ _tag: "BreakerTransition", model, from: before.phase, to: after.phase, at })
        )
      }

      /** Applies a step of the state machine atomically and announces a change of phase. */
      const step = <A>(
        model: string,
        f: (breaker: CircuitBreaker.Breaker, now: number) => readonly [A, CircuitBreaker.Breaker]
      ): Effect.Effect<A> =>
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const [result, before, after] = yield* Ref.modify(breakerOf(model), (breaker) => {
            const [result, next] = f(breaker, now)
            return [[result, breaker, next] as const, next]
          })
          if (before.phase !== after.phase) yield* announce(model, before, after, now)
          return result
        })

      const guard = <A, R>(model: string, attempt: Effect.Effect<A, ProviderError, R>) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.gen(function* () {
            const admission = yield* step(model, (breaker, now) => CircuitBreaker.admit(breaker, settings, now))
            if (admission._tag === "Rejected") {
              return yield* new CircuitOpen({
                model,
                retryAfterSeconds: Math.max(1, Math.ceil(admission.retryAfterMs / 1000))
              })
            }
            return yield* restore(attempt).pipe(
              Effect.onExit((exit) =>
                step(model, (breaker, now) => [
                  undefined,
                  CircuitBreaker.settle(breaker, settings, admission.permit, outcomeOf(exit), now)
                ])
              )
            )
          })
        )

      const view = (model: string) =>
        step(model, (breaker, now): readonly [BreakerSnapshot, CircuitBreaker.Breaker] => {
          const current = CircuitBreaker.advance(breaker, settings, now)
          const snapshot = {
            model,
            state: current.phase,
            failureCount: current.failures,
            lastFailureAt: current.lastFailureAt
          }
          return [snapshot, current]
        })

      return CircuitBreakers.of({
        guard,
        phaseOf: (model) => Effect.map(view(model), (snapshot) => snapshot.state),
        snapshot: Effect.suspend(() => Effect.forEach(Array.from(breakers.keys()), view))
      })
    })
  ).pipe(Layer.provide(ModelCatalog.layer))
}
