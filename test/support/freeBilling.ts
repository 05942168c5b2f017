/**
 * A Billing that never refuses and keeps nothing, for suites that test something else
 * (retries, breakers, fallbacks) on TestClock without a database. Settlements are recorded
 * so that a test can still see that each request settled once.
 */
import { Effect, Layer } from "effect"
import { usd } from "../../src/domain/Billing.ts"
import * as Money from "../../src/domain/Money.ts"
import { Billing, type Hold } from "../../src/services/billing/Billing.ts"
import type { Outcome } from "../../src/services/billing/Metering.ts"

export interface Settled {
  readonly hold: Hold
  readonly outcome: Outcome
}

export const freeBilling = (settled: Array<Settled> = []) =>
  Layer.sync(Billing, () => {
    let nextId = 0n
    const unlimited = { user_id: "", balance: usd(10n ** 18n), available: usd(10n ** 18n) }
    return Billing.of({
      reserve: (reservation) =>
        Effect.sync(() => ({
          id: ++nextId,
          key: `key-${nextId}`,
          userId: reservation.userId,
          requestId: reservation.requestId,
          model: reservation.model,
          amount:
            reservation.promptCost +
            Money.costOf(reservation.maxTokens * reservation.choices, reservation.outputPricePerMillion),
          maxTokens: reservation.maxTokens
        })),
      renew: () => Effect.succeed(true),
      keepAlive: () => Effect.void,
      settle: (hold, outcome) => Effect.sync(() => void settled.push({ hold, outcome })).pipe(Effect.as(undefined)),
      balance: (userId) => Effect.succeed({ ...unlimited, user_id: userId }),
      transactions: (userId, page) =>
        Effect.succeed({ user_id: userId, transactions: [], limit: page.limit, offset: page.offset, total: 0 }),
      credit: ({ userId }) => Effect.succeed({ ...unlimited, user_id: userId }),
      releaseExpired: Effect.succeed(0)
    })
  })
