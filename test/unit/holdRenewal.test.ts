/**
 * When a live request renews its hold (HoldRenewal.ts), on TestClock: a third of the TTL after the start of the
 * last renewal that landed, failed renewals tried again until one lands, so a hold outlives a database outage
 * of up to two thirds of its TTL however slowly each failed attempt fails.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { keepRenewing } from "../../src/services/billing/HoldRenewal.ts"

const ttl = 30_000
const times = { every: Duration.millis(ttl / 3), retryDelay: Duration.seconds(1) }
/** The ledger's bound on one statement: how long a renewal against a hung database takes to fail. */
const statementTimeout = 5_000

/**
 * Renewals that fail (each after `statementTimeout`) while the database is down, and land at once otherwise;
 * records each attempt's start and the expiry each landed renewal gave the hold.
 */
const database = (down: (now: number) => boolean) => {
  const attempts: Array<number> = []
  let expiresAt = ttl
  const renew = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    attempts.push(now)
    if (down(now)) return yield* Effect.andThen(Effect.sleep(Duration.millis(statementTimeout)), Effect.fail("down"))
    if (now >= expiresAt) return false
    expiresAt = now + ttl
    return true
  })
  return { renew, attempts, expiresAt: () => expiresAt }
}

/** Runs the renewals for `duration` of test time; whether they reported the hold lost. */
const runUntil = (db: ReturnType<typeof database>, duration: number) =>
  Effect.gen(function* () {
    let lost = false
    const fiber = yield* Effect.forkChild(
      keepRenewing(
        db.renew,
        times,
        Effect.sync(() => {
          lost = true
        })
      )
    )
    yield* TestClock.adjust(duration)
    yield* Fiber.interrupt(fiber)
    return lost
  })

describe("keepRenewing", () => {
  it.effect("renews a third of the TTL after each renewal that landed", () =>
    Effect.gen(function* () {
      const db = database(() => false)
      expect(yield* runUntil(db, ttl)).toBe(false)
      expect(db.attempts).toEqual([10_000, 20_000, 30_000])
      expect(db.expiresAt()).toBe(60_000)
    })
  )

  it.effect("keeps retrying through an outage, so a hold outlives one of most of two thirds of its TTL", () =>
    Effect.gen(function* () {
      // Down from 10 s to 25 s: the attempts at 10 s, 16 s and 22 s each hang 5 s and fail, 1 s apart; the one at
      // 28 s lands before the expiry at 30 s. (Trying once more and then waiting a third of the TTL from the
      // failure would have come back at 30 s, too late.)
      const db = database((now) => now >= 10_000 && now < 25_000)
      const lost = yield* runUntil(db, 40_000)
      expect(db.attempts).toEqual([10_000, 16_000, 22_000, 28_000, 38_000])
      expect(db.expiresAt()).toBe(68_000)
      expect(lost).toBe(false)
    })
  )

  it.effect("gives up, saying so, when the first renewal after an outage finds the hold expired", () =>
    Effect.gen(function* () {
      const db = database((now) => now >= 10_000 && now < 45_000)
      const lost = yield* runUntil(db, 120_000)
      // 10, 16, 22, 28, 34 and 40 s fail; 46 s finds the hold expired (at 30 s), and nothing is tried after it.
      expect(db.attempts).toEqual([10_000, 16_000, 22_000, 28_000, 34_000, 40_000, 46_000])
      expect(lost).toBe(true)
    })
  )
})
