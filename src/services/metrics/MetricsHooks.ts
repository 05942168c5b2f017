/**
 * The metrics side of the hooks other services expose: breaker transitions and retries
 * (ResilienceEvents); balances after each settle and credit, uncollected and unsettled charges, swept holds
 * (BillingEvents).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Money from "../../domain/Money.ts"
import { BillingEvents } from "../billing/BillingEvents.ts"
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

/** USD for a counter: a float anyway, exact amounts live in the ledger. */
const dollars = (amount: Money.Nanos) => Number(amount) / 1e9

const billingEvents = Layer.effect(
  BillingEvents,
  Effect.map(Metrics, (metrics) => ({
    balanceChanged: (userId, balance) => Effect.sync(() => metrics.balanceChanged(userId, balance)),
    uncollected: (model, amount) => Effect.sync(() => metrics.model(model)?.uncollected.inc(dollars(amount))),
    unsettled: (model, amount) => Effect.sync(() => metrics.model(model)?.unsettled.inc(dollars(amount))),
    swept: (charged, released) =>
      Effect.sync(() => {
        metrics.instruments.holdsSwept.labels({ outcome: "charged" }).inc(charged)
        metrics.instruments.holdsSwept.labels({ outcome: "released" }).inc(released)
      })
  }))
)

export const layer = Layer.mergeAll(resilienceEvents, billingEvents).pipe(Layer.provide(Metrics.layer))
