/**
 * What the resilience machinery does, as events for whoever wants to count them (the
 * metrics service exports breaker transitions and retries). By default nobody listens.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type { ProviderErrorReason } from "../../domain/ProviderError.ts"
import type { BreakerPhase } from "./CircuitBreaker.ts"

export type ResilienceEvent =
  | {
      readonly _tag: "BreakerTransition"
      readonly model: string
      readonly from: BreakerPhase
      readonly to: BreakerPhase
      /** Epoch milliseconds when it happened (an open breaker half-opens exactly at its recovery time). */
      readonly at: number
    }
  | {
      readonly _tag: "RetryScheduled"
      readonly model: string
      /** The attempt that failed, 1 for the first. */
      readonly attempt: number
      readonly delayMs: number
      readonly reason: ProviderErrorReason["_tag"]
    }

export const ResilienceEvents = Context.Reference<(event: ResilienceEvent) => Effect.Effect<void>>(
  "gateway/ResilienceEvents",
  { defaultValue: () => () => Effect.void }
)
