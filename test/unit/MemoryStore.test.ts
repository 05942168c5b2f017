import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeMemoryStore, SlidingLog } from "../../src/services/ratelimit/MemoryStore.ts"
import { makeRateLimiter } from "../../src/services/ratelimit/RateLimiter.ts"
import { perMinuteAndHour, rateLimitSemantics } from "../support/rateLimitSemantics.ts"

describe("in-process rate-limit store", () => {
  rateLimitSemantics((limits) =>
    Effect.map(makeRateLimiter({ limits, redis: undefined, probeInterval: "1 second" }), (limiter) => limiter.consume)
  )

  it("forgets a user once nothing of theirs is left in the window", () => {
    const store = makeMemoryStore(perMinuteAndHour(60, 1000))
    store.consumeAt("alice", 0)
    store.consumeAt("bob", 30_000_000)
    store.sweep(59_999_999)
    assert.strictEqual(store.trackedUsers(), 2)
    store.sweep(60_000_000)
    assert.strictEqual(store.trackedUsers(), 1)
    store.sweep(90_000_000)
    assert.strictEqual(store.trackedUsers(), 0)
  })

  it("a clock stepping back counts as no time passing", () => {
    const store = makeMemoryStore(perMinuteAndHour(2, 1000))
    store.consumeAt("alice", 100_000_000)
    store.consumeAt("alice", 50_000_000)
    const refused = store.consumeAt("alice", 150_000_000)
    assert.strictEqual(refused.outcome, "user_limit")
    assert.strictEqual(refused.userResetUs, 160_000_000)
  })
})

describe("SlidingLog", () => {
  it("keeps entries in order across growth and wrap-around", () => {
    const log = new SlidingLog(20)
    for (let t = 1; t <= 5; t++) log.push(t)
    log.trim(3, 0) // drops 1, 2, 3
    for (let t = 6; t <= 20; t++) log.push(t) // wraps, then grows
    assert.strictEqual(log.count, 17)
    assert.strictEqual(log.resetAt(0, 100), 104)
    assert.strictEqual(log.newest, 20)
    log.trim(19, 0)
    assert.strictEqual(log.count, 1)
    assert.strictEqual(log.resetAt(0, 100), 120)
  })
})
