import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Money from "../../domain/Money.ts"
import type { BillingEvents } from "./BillingEvents.ts"
import type { SweptHold } from "./BillingSql.ts"

/** A sweep repeats its statement at most this many times (a bounded sweep; the rest waits for the next). */
const sweepBatches = 20

/**
 * One sweep: statements of `batchSize` expired holds each until one takes fewer. Reports the
 * holds charged and released to the metrics, and logs them; returns how many were taken.
 */
export const sweepOnce = <E>(
  statement: (now: Date) => Effect.Effect<ReadonlyArray<SweptHold>, E>,
  batchSize: number,
  events: (typeof BillingEvents)["Service"]
): Effect.Effect<number, E> =>
  Effect.gen(function* () {
    const now = new Date(yield* Clock.currentTimeMillis)
    let swept = 0
    let charges = 0
    let charged = 0n
    for (let batch = 0; batch < sweepBatches; batch++) {
      const holds = yield* statement(now)
      swept += holds.length
      for (const hold of holds) {
        if (hold.charged === undefined) continue
        charges++
        charged += hold.charged
        if (hold.uncollected !== undefined && hold.uncollected > 0n) {
          yield* events.uncollected(hold.model, hold.uncollected)
        }
      }
      if (holds.length < batchSize) break
    }
    if (swept > 0) {
      yield* events.swept(charges, swept - charges)
      yield* Effect.logWarning(
        `Swept ${swept} expired holds (their process stopped renewing them): ${charges} charged the usage ` +
          `they had metered ($${Money.format(charged)} in all), ${swept - charges} released`
      )
    }
    return swept
  })

/**
 * Sweeps the holds whose owner stopped renewing them (a crashed or frozen process): once at
 * start-up, then every `intervalMs`. A failed sweep is logged and tried again at the next
 * interval; every sweep is bounded (its statements are, and so is how many holds it takes).
 */
export const sweepExpiredHolds = <E>(sweep: Effect.Effect<number, E>, intervalMs: number) =>
  sweep.pipe(
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause) ? Effect.failCause(cause) : Effect.logWarning("Hold sweep failed", cause)
    ),
    Effect.repeat(Schedule.spaced(intervalMs))
  )
