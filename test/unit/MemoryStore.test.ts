import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeMemoryStore, SlidingLog } from "../../src/services/ratelimit/MemoryStore.ts"
import { makeRateLimiter } from "../../src/services/ratelimit/RateLimiter.ts"
import { perMinuteAndHour, rateLimitSemantics, tokenLimitSemantics, withTokens } from "../support/rateLimitSemantics.ts"

describe("in-process rate-limit store", () => {
  rateLimitSemantics((limits) =>
    Effect.map(makeRateLimiter({ limits, redis: undefined, probeInterval: "1 second" }), (limiter) => ({
      consume: limiter.consume,
      consumeRead: limiter.consumeRead,
      returnGlobal: limiter.returnGlobal
    }))
  )

  describe("the token limit", () => {
    tokenLimitSemantics((limits) =>
      Effect.map(makeRateLimiter({ limits, redis: undefined, probeInterval: "1 second" }), (limiter) => ({
        consume: limiter.consume,
        consumeRead: limiter.consumeRead,
        settle: limiter.settleTokens,
        giveBack: (userId, verdict) => Effect.asVoid(limiter.giveBack(userId, verdict))
      }))
    )

    it("forgets a user's tokens once they have left the window", () => {
      const store = makeMemoryStore(withTokens(1000))
      store.consumeAt("alice", 0, 10)
      assert.strictEqual(store.trackedUsers(), 2)
      store.sweep(60_000_000)
      assert.strictEqual(store.trackedUsers(), 0)
    })
  })

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
  it("removes one entry of an instant from the middle of a wrapped log, keeping the order", () => {
    const log = new SlidingLog(8)
    for (let t = 1; t <= 8; t++) log.push(t)
    log.trim(5, 0) // drops 1..5: head in the middle
    for (let t = 9; t <= 13; t++) log.push(t) // wraps around
    assert.isTrue(log.remove(10))
    assert.isFalse(log.remove(10))
    assert.isFalse(log.remove(2), "an entry that left the window is not there")
    assert.strictEqual(log.count, 7)
    const seen: Array<number> = []
    while (log.count > 0) {
      seen.push(log.resetAt(0, 0))
      log.trim(log.resetAt(0, 0), 0)
    }
    assert.deepStrictEqual(seen, [6, 7, 8, 9, 11, 12, 13])
  })

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
