/**
 * The metrics side of the hooks other services expose: breaker transitions and retries
 * (ResilienceEvents) and balances after each settle and credit (BalanceObserver).
 */
import { Effect, Layer } from "effect"
import { BalanceObserver } from "../billing/BalanceObserver.ts"
import { ResilienceEvents } from "../resilience/ResilienceEvents.ts"
import { breakerStateValue, Metrics } from "./Metrics.ts"

const resilienceEvents = Layer.effect(
  ResilienceEvents,
  Effect.map(
    Metrics,
    ({ instruments }) =>
      (event) =>
        Effect.sync(() => {
          if (event._tag === "RetryScheduled") {
            instruments.retries.labels({ model: event.model, reason: event.reason }).inc()
          } else {
            instruments.breakerTransitions.labels({ model: event.model, from: event.from, to: event.to }).inc()
            instruments.breakerState.labels({ model: event.model }).set(breakerStateValue[event.to])
          }
        })
  )
)

const balanceObserver = Layer.effect(
  BalanceObserver,
  Effect.map(Metrics, (metrics) => ({
    balanceChanged: (userId, balance) => Effect.sync(() => metrics.balanceChanged(userId, balance))
  }))
)

export const layer = Layer.mergeAll(resilienceEvents, balanceObserver)
