/**
 * A settle that still fails after the tries made before the answer (the database is down or
 * unreachable) goes on in the background, so that the client is answered and the charge is not
 * lost: first the charge is written on the hold (a renewal carrying the final usage, repeated
 * every third of the TTL, so the hold outlives the retries), then the settle is retried with
 * backoff for up to one TTL. A process that dies meanwhile leaves a hold that says what to
 * charge: the sweeper charges it once it expires. A settle given up on (or interrupted by a
 * shutdown) is logged with its amount and counted.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type { ServiceUnavailable } from "../../domain/errors.ts"
import * as Money from "../../domain/Money.ts"
import type { Hold, Settlement } from "./Billing.ts"
import type { LedgerCharge } from "./BillingSql.ts"

const firstDelayMs = 1000
const maxDelayMs = 30_000

export const settleInBackground = (options: {
  readonly hold: Hold
  readonly charge: LedgerCharge | undefined
  readonly ttlMs: number
  /** One settle statement. */
  readonly settle: Effect.Effect<Settlement, ServiceUnavailable>
  /** One renewal that writes the charge on the hold; false when the hold is gone. */
  readonly recordIntent: Effect.Effect<boolean, ServiceUnavailable>
  readonly unsettled: (amount: Money.Nanos) => Effect.Effect<void>
}): Effect.Effect<void> => {
  const { hold, charge } = options
  let recordedAt: number | undefined
  const what = `hold ${hold.id} of ${hold.userId} (request ${hold.requestId})`
  const amount = charge === undefined ? "nothing to charge" : `a charge of $${Money.format(charge.cost)}`

  const giveUp = (why: string) =>
    Effect.andThen(
      Effect.logError(
        `Gave up settling ${what}, ${amount}: ${why}. ` +
          (recordedAt === undefined
            ? "The charge could not be written on the hold either: it is unbilled."
            : "The hold records the charge; the sweeper charges it once the hold expires.")
      ),
      charge === undefined ? Effect.void : options.unsettled(charge.cost)
    )

  return Effect.gen(function* () {
    const deadline = (yield* Clock.currentTimeMillis) + options.ttlMs
    const renewEveryMs = options.ttlMs / 3
    let delayMs = firstDelayMs
    let attempts = 0
    while (true) {
      const now = yield* Clock.currentTimeMillis
      if (recordedAt === undefined || now - recordedAt >= renewEveryMs) {
        if (Result.isSuccess(yield* Effect.result(options.recordIntent))) recordedAt = now
      }
      if (now + delayMs >= deadline) return yield* giveUp(`the database did not answer for ${options.ttlMs / 1000} s`)
      yield* Effect.sleep(delayMs)
      attempts++
      const settled = yield* Effect.result(options.settle)
      if (Result.isSuccess(settled)) {
        return yield* Effect.logInfo(
          `Settled ${what} after ${attempts} background attempts (${settled.success.status})`
        )
      }
      delayMs = Math.min(delayMs * 2, maxDelayMs)
    }
  }).pipe(
    Effect.onExit((exit) =>
      exit._tag === "Failure" && Cause.hasInterruptsOnly(exit.cause)
        ? giveUp("the gateway shut down before the database answered")
        : Effect.void
    )
  )
}
