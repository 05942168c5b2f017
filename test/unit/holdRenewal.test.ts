/**
 * When live requests renew their holds (HoldRenewal.ts), on TestClock: a third of the TTL after the start of the
 * last renewal that landed, failed renewals tried again until one lands, so a hold outlives a database outage
 * of up to two thirds of its TTL however slowly each failed attempt fails; each hold on its own times, though one
 * fiber renews them all, and never once its request has ended.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, Scope } from "effect"
import { TestClock } from "effect/testing"
import { makeHoldRenewal } from "../../src/services/billing/HoldRenewal.ts"

const ttl = 30_000
const times = { every: Duration.millis(ttl / 3), retryDelay: Duration.seconds(1) }
/** The ledger's bound on one statement: how long a renewal against a hung database takes to fail. */
const statementTimeout = 5_000

interface Attempt {
  readonly at: number
  readonly hold: string
  readonly metered: number
}

interface DatabaseOptions {
  /** Renewals of `hold` started at `now` fail, each after `statementTimeout`. */
  readonly down?: (now: number, hold: string) => boolean
  /** How long a renewal started at `now` takes to land. */
  readonly latency?: (hold: string, now: number) => number
}

/**
 * A database of holds made at time 0 (or when `make` says), with the TTL; renewals fail while it is `down`, and
 * land after their `latency` otherwise. Records each attempt, and the expiry each landed renewal gave its hold.
 */
const database = (options: DatabaseOptions = {}) => {
  const attempts: Array<Attempt> = []
  const expiries = new Map<string, number>()
  const renew = (hold: string, metered: number) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      attempts.push({ at: now, hold, metered })
      if (options.down?.(now, hold)) return yield* Effect.andThen(Effect.sleep(statementTimeout), Effect.fail("down"))
      const latency = options.latency?.(hold, now) ?? 0
      if (latency > 0) yield* Effect.sleep(latency)
      const expiresAt = expiries.get(hold) ?? ttl
      if (now >= expiresAt) return false
      expiries.set(hold, now + ttl)
      return true
    })
  const make = (hold: string) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      expiries.set(hold, now + ttl)
    })
  const attemptsOf = (hold: string) => attempts.filter((attempt) => attempt.hold === hold).map(({ at }) => at)
  return { renew, make, attempts, attemptsOf, expiryOf: (hold: string) => expiries.get(hold) }
}

/** The renewals of one process over `db`, and the holds found lost. */
const renewals = (db: ReturnType<typeof database>) =>
  Effect.gen(function* () {
    const lost: Array<string> = []
    const renewal = yield* makeHoldRenewal({
      renew: db.renew,
      times,
      onLost: (hold: string) =>
        Effect.sync(() => {
          lost.push(hold)
        })
    })
    /** A request that makes `hold` now and keeps it alive until `end` is run; `metered` is read at each renewal. */
    const request = (hold: string, metered: () => number = () => 0) =>
      Effect.gen(function* () {
        yield* db.make(hold)
        const scope = yield* Scope.make()
        yield* Scope.provide(renewal.keep(hold, metered), scope)
        return { end: Scope.close(scope, Exit.void) }
      })
    return { request, lost }
  })

describe("hold renewal", () => {
  it.effect("renews a third of the TTL after each renewal that landed", () =>
    Effect.gen(function* () {
      const db = database()
      const { request, lost } = yield* renewals(db)
      yield* request("a")
      yield* TestClock.adjust(ttl)
      expect(db.attemptsOf("a")).toEqual([10_000, 20_000, 30_000])
      expect(db.expiryOf("a")).toBe(60_000)
      expect(lost).toEqual([])
    })
  )

  it.effect("keeps retrying through an outage, so a hold outlives one of most of two thirds of its TTL", () =>
    Effect.gen(function* () {
      // Down from 10 s to 25 s: the attempts at 10 s, 16 s and 22 s each hang 5 s and fail, 1 s apart; the one at
      // 28 s lands before the expiry at 30 s. (Trying once more and then waiting a third of the TTL from the
      // failure would have come back at 30 s, too late.)
      const db = database({ down: (now) => now >= 10_000 && now < 25_000 })
      const { request, lost } = yield* renewals(db)
      yield* request("a")
      yield* TestClock.adjust(40_000)
      expect(db.attemptsOf("a")).toEqual([10_000, 16_000, 22_000, 28_000, 38_000])
      expect(db.expiryOf("a")).toBe(68_000)
      expect(lost).toEqual([])
    })
  )

  it.effect("retries a renewal that fails at once every retryDelay, until one lands", () =>
    Effect.gen(function* () {
      let failing = true
      const db = database()
      const { request } = yield* renewals({
        ...db,
        renew: (hold, metered) =>
          failing ? Effect.andThen(db.renew(hold, metered), Effect.fail("refused")) : db.renew(hold, metered)
      })
      yield* request("a")
      yield* TestClock.adjust(13_500)
      failing = false
      yield* TestClock.adjust(20_000)
      // 10, 11, 12 and 13 s fail; 14 s lands, and the next is due a third of the TTL after it.
      expect(db.attemptsOf("a")).toEqual([10_000, 11_000, 12_000, 13_000, 14_000, 24_000])
    })
  )

  it.effect("gives up, saying so once, when the first renewal after an outage finds the hold expired", () =>
    Effect.gen(function* () {
      const db = database({ down: (now) => now >= 10_000 && now < 45_000 })
      const { request, lost } = yield* renewals(db)
      const a = yield* request("a")
      yield* TestClock.adjust(120_000)
      // 10, 16, 22, 28, 34 and 40 s fail; 46 s finds the hold expired (at 30 s), and nothing is tried after it.
      expect(db.attemptsOf("a")).toEqual([10_000, 16_000, 22_000, 28_000, 34_000, 40_000, 46_000])
      expect(lost).toEqual(["a"])
      // Its request ends later, as usual: nothing more is said or done.
      yield* a.end
      yield* TestClock.adjust(60_000)
      expect(db.attemptsOf("a")).toHaveLength(7)
      expect(lost).toEqual(["a"])
    })
  )

  it.effect("renews each of many holds at its own times, with what its request has metered by then", () =>
    Effect.gen(function* () {
      const db = database()
      const { request } = yield* renewals(db)
      let metered = 0
      yield* request("a", () => metered)
      yield* TestClock.adjust(2_500)
      yield* request("b", () => 10 * metered)
      yield* TestClock.adjust(4_000)
      yield* request("c")
      metered = 7
      yield* TestClock.adjust(30_000 - 6_500)
      expect(db.attemptsOf("a")).toEqual([10_000, 20_000, 30_000])
      expect(db.attemptsOf("b")).toEqual([12_500, 22_500])
      expect(db.attemptsOf("c")).toEqual([16_500, 26_500])
      expect(db.attempts.filter(({ hold }) => hold === "b").map((attempt) => attempt.metered)).toEqual([70, 70])
      expect(db.attempts.map(({ hold }) => hold)).toEqual(["a", "b", "c", "a", "b", "c", "a"])
    })
  )

  it.effect("keeps each hold on its own times while another's renewals fail", () =>
    Effect.gen(function* () {
      // Only a's renewals meet the outage: its attempt at 10 s hangs until 15 s and fails, the one at 16 s lands.
      const db = database({ down: (now, hold) => hold === "a" && now < 12_000 })
      const { request } = yield* renewals(db)
      yield* request("a")
      yield* TestClock.adjust(500)
      yield* request("b")
      yield* TestClock.adjust(30_000)
      expect(db.attemptsOf("a")).toEqual([10_000, 16_000, 26_000])
      expect(db.attemptsOf("b")).toEqual([10_500, 20_500, 30_500])
    })
  )

  it.effect("never renews a hold whose request ended before its renewal was due", () =>
    Effect.gen(function* () {
      const db = database()
      const { request, lost } = yield* renewals(db)
      const a = yield* request("a")
      const b = yield* request("b")
      yield* TestClock.adjust(9_999)
      yield* a.end
      yield* TestClock.adjust(30_000)
      expect(db.attemptsOf("a")).toEqual([])
      expect(db.attemptsOf("b")).toEqual([10_000, 20_000, 30_000])
      yield* b.end
      yield* TestClock.adjust(30_000)
      expect(db.attemptsOf("b")).toEqual([10_000, 20_000, 30_000])
      expect(lost).toEqual([])
    })
  )

  it.effect("does not renew again, nor say the hold is gone, when its request ends during a renewal", () =>
    Effect.gen(function* () {
      // Renewals take 2 s; a's first is in flight from 10 s to 12 s, and its request ends (and settles) at 11 s.
      const db = database({ latency: () => 2_000 })
      const { request, lost } = yield* renewals(db)
      const a = yield* request("a")
      yield* TestClock.adjust(11_000)
      yield* a.end
      yield* TestClock.adjust(30_000)
      expect(db.attemptsOf("a")).toEqual([10_000])

      // Nor when the renewal in flight fails, nor when it finds the hold gone (the settle took it).
      const failing = database({ down: () => true })
      const second = yield* renewals(failing)
      const b = yield* second.request("b")
      yield* TestClock.adjust(12_000)
      yield* b.end
      yield* TestClock.adjust(30_000)
      expect(failing.attemptsOf("b")).toEqual([51_000])

      const gone = database({ latency: () => 2_000 })
      const third = yield* renewals({ ...gone, renew: (hold, metered) => Effect.as(gone.renew(hold, metered), false) })
      const c = yield* third.request("c")
      yield* TestClock.adjust(11_000)
      yield* c.end
      yield* TestClock.adjust(30_000)
      expect(gone.attemptsOf("c")).toEqual([93_000])
      expect([lost, second.lost, third.lost]).toEqual([[], [], []])
    })
  )

  it.effect("wakes for a hold made while no hold was waiting", () =>
    Effect.gen(function* () {
      const db = database()
      const { request } = yield* renewals(db)
      // Nothing waits: the fiber sleeps until a hold is made.
      yield* TestClock.adjust(50_000)
      const a = yield* request("a")
      yield* TestClock.adjust(1_000)
      yield* a.end
      // The fiber wakes when a would have been due, finds nothing, and sleeps again until b is made.
      yield* TestClock.adjust(11_000)
      yield* request("b")
      yield* TestClock.adjust(25_000)
      expect(db.attemptsOf("a")).toEqual([])
      expect(db.attemptsOf("b")).toEqual([72_000, 82_000])
    })
  )

  it.effect("renews on time a hold whose renewal landed after a later hold was made", () =>
    Effect.gen(function* () {
      // a's renewal at 10 s takes 3 s; b, made at 11 s, is due at 21 s, while a is due again at 20 s (a third of
      // the TTL after its renewal started), before b: its landing must wake the fiber sleeping until 21 s.
      const db = database({ latency: (hold) => (hold === "a" ? 3_000 : 0) })
      const { request } = yield* renewals(db)
      yield* request("a")
      yield* TestClock.adjust(11_000)
      yield* request("b")
      yield* TestClock.adjust(10_500)
      expect(db.attemptsOf("a")).toEqual([10_000, 20_000])
      expect(db.attemptsOf("b")).toEqual([21_000])
    })
  )
})
