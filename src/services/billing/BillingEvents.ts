import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type { Nanos } from "../../domain/Money.ts"

/**
 * Told what billing did that the metrics report: the balance of an account after every settle
 * and credit (the `user_balance` gauge), the part of a charge an account could not pay, the
 * charges the gateway gave up settling, and the holds the sweeper took. Does nothing unless a
 * layer provides it; each must be quick and must not fail.
 */
export const BillingEvents = Context.Reference<{
  readonly balanceChanged: (userId: string, balance: Nanos) => Effect.Effect<void>
  /** A charge took less than its cost because the account had no more available. */
  readonly uncollected: (model: string, amount: Nanos) => Effect.Effect<void>
  /** A settle was given up (the database stayed unreachable); the hold's recorded usage may still be charged. */
  readonly unsettled: (model: string, amount: Nanos) => Effect.Effect<void>
  /** The sweeper took expired holds: `charged` of them charged what they had metered, `released` were released. */
  readonly swept: (charged: number, released: number) => Effect.Effect<void>
}>("gateway/billing/BillingEvents", {
  defaultValue: () => ({
    balanceChanged: () => Effect.void,
    uncollected: () => Effect.void,
    unsettled: () => Effect.void,
    swept: () => Effect.void
  })
})
