import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Logger } from "effect"
import { TestClock } from "effect/testing"
import { makeMemoryStore } from "../../src/services/ratelimit/MemoryStore.ts"
import type { Limits } from "../../src/services/ratelimit/Policy.ts"
import { makeRateLimiter } from "../../src/services/ratelimit/RateLimiter.ts"
import { type RedisStore, RedisUnavailable } from "../../src/services/ratelimit/RedisStore.ts"
import { perMinuteAndHour, withTokens } from "../support/rateLimitSemantics.ts"

/** A Redis store the test switches on and off, counting the calls that reached it. */
const fakeRedis = (limits: Limits) => {
  const state = { up: true, consumed: 0, pinged: 0 }
  const shared = makeMemoryStore(limits)
  const answer = <A>(counter: "consumed" | "pinged", value: () => A) =>
    Effect.suspend(() => {
      state[counter]++
      return state.up ? Effect.succeed(value()) : Effect.fail(new RedisUnavailable({ message: "connect ECONNREFUSED" }))
    })
  const store: RedisStore = {
    consume: (userId, tokens) => answer("consumed", () => shared.consumeAt(userId, 0, tokens)),
    // The tokens only: in memory a request's token entry is not its global one, as it is in Redis.
    correctTokens: (userId, entry, tokens) => answer("consumed", () => shared.correctTokens(userId, entry, tokens)),
    consumeRead: (userId) => answer("consumed", () => shared.consumeReadAt(userId, 0)),
    returnGlobal: (entry) => answer("consumed", () => shared.returnGlobal(entry)),
    ping: answer("pinged", () => undefined)
  }
  return { store, state }
}

const captureLogs = () => {
  const lines: Array<string> = []
  const layer = Logger.layer([Logger.make((options) => lines.push(`${options.logLevel}: ${String(options.message)}`))])
  return { lines, layer }
}

const limits = perMinuteAndHour(60, 1000)

describe("RateLimiter", () => {
  it.effect("uses Redis while it answers", () =>
    Effect.gen(function* () {
      const redis = fakeRedis(limits)
      const limiter = yield* makeRateLimiter({ limits, redis: redis.store, probeInterval: "1 second" })
      assert.strictEqual(yield* limiter.storage, "redis")
      yield* limiter.consume("alice")
      yield* limiter.consume("alice")
      assert.strictEqual(redis.state.consumed, 2)
    })
  )

  it.effect("when Redis fails, the same request is decided in memory, once logged, and later ones skip Redis", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const redis = fakeRedis(limits)
      const limiter = yield* makeRateLimiter({ limits, redis: redis.store, probeInterval: "1 second" })
      yield* limiter.consume("alice")
      redis.state.up = false

      const duringOutage = yield* limiter.consume("alice")
      assert.strictEqual(duringOutage.outcome, "admitted")
      assert.strictEqual(duringOutage.userCount, 1, "decided by the in-process store")
      assert.strictEqual(yield* limiter.storage, "memory")
      yield* limiter.consume("alice")
      assert.strictEqual(redis.state.consumed, 2, "the second request during the outage did not wait on Redis")
      const warnings = logs.lines.filter((line) => line.startsWith("Warn"))
      assert.strictEqual(warnings.length, 1)
      assert.include(warnings[0], "ECONNREFUSED")
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("switches back by itself once Redis answers again", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const redis = fakeRedis(limits)
      const limiter = yield* makeRateLimiter({ limits, redis: redis.store, probeInterval: "1 second" })
      redis.state.up = false
      yield* limiter.consume("alice")
      assert.strictEqual(yield* limiter.storage, "memory")

      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* limiter.storage, "memory", "still down")
      redis.state.up = true
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* limiter.storage, "redis")
      assert.isTrue(logs.lines.some((line) => line.startsWith("Info") && line.includes("Redis answers again")))

      const consumedBefore = redis.state.consumed
      yield* limiter.consume("alice")
      assert.strictEqual(redis.state.consumed, consumedBefore + 1)
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("notices an outage without traffic, and starts in memory when Redis is down at start-up", () =>
    Effect.gen(function* () {
      const redis = fakeRedis(limits)
      const limiter = yield* makeRateLimiter({ limits, redis: redis.store, probeInterval: "1 second" })
      redis.state.up = false
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* limiter.storage, "memory")

      const downAtStart = fakeRedis(limits)
      downAtStart.state.up = false
      const late = yield* makeRateLimiter({ limits, redis: downAtStart.store, probeInterval: "1 second" })
      assert.strictEqual(yield* late.storage, "memory")
      yield* late.consume("alice")
      assert.strictEqual(downAtStart.state.consumed, 0)
    })
  )

  it.effect("without Redis the limits live in memory", () =>
    Effect.gen(function* () {
      const limiter = yield* makeRateLimiter({ limits, redis: undefined, probeInterval: "1 second" })
      assert.strictEqual(yield* limiter.storage, "memory")
      assert.isFalse(limiter.redisConfigured)
      yield* limiter.probe
      assert.strictEqual(yield* limiter.storage, "memory")
    })
  )

  it.effect("counts refusals by the limit that refused them", () =>
    Effect.gen(function* () {
      const limiter = yield* makeRateLimiter({
        limits: perMinuteAndHour(1, 2),
        redis: undefined,
        probeInterval: "1 second"
      })
      yield* limiter.consume("alice")
      yield* limiter.consume("alice")
      yield* limiter.consume("bob")
      yield* limiter.consume("carol")
      yield* limiter.consume("carol")
      yield* limiter.consumeRead("dave")
      yield* limiter.consumeRead("dave")
      assert.deepStrictEqual(yield* limiter.refusals, { user_limit: 1, global_limit: 2, read_limit: 1, token_limit: 0 })
    })
  )

  it.effect("says whether an admitted request's global entry was given back: not when Redis did not answer", () =>
    Effect.gen(function* () {
      const redis = fakeRedis(limits)
      const limiter = yield* makeRateLimiter({ limits, redis: redis.store, probeInterval: "1 second" })
      const first = yield* limiter.consume("alice")
      assert.strictEqual(yield* limiter.returnGlobal(first), true)
      const second = yield* limiter.consume("alice")
      redis.state.up = false
      assert.strictEqual(yield* limiter.returnGlobal(second), false)
      const refused = { ...second, outcome: "user_limit" as const, globalEntry: undefined }
      assert.strictEqual(yield* limiter.returnGlobal(refused), false)
    })
  )

  it.effect("the correction at settle returns at once while Redis stalls, and lands when Redis answers", () =>
    Effect.gen(function* () {
      const tokenLimits = withTokens(1000)
      const redis = fakeRedis(tokenLimits)
      const answers = yield* Deferred.make<void>()
      const landed = yield* Deferred.make<void>()
      const stalling: RedisStore = {
        ...redis.store,
        correctTokens: (userId, entry, tokens, returnGlobal) =>
          Effect.andThen(
            Deferred.await(answers),
            Effect.tap(redis.store.correctTokens(userId, entry, tokens, returnGlobal), () =>
              Deferred.succeed(landed, undefined)
            )
          )
      }
      const limiter = yield* makeRateLimiter({ limits: tokenLimits, redis: stalling, probeInterval: "1 second" })
      const first = yield* limiter.consume("alice", 800)
      // Were the correction on the answer's path, this would wait for Redis forever.
      yield* limiter.settleTokens("alice", first, 100)
      assert.strictEqual((yield* limiter.consume("alice", 900)).outcome, "token_limit", "not corrected yet")
      yield* Deferred.succeed(answers, undefined)
      yield* Deferred.await(landed)
      const next = yield* limiter.consume("alice", 900)
      assert.strictEqual(next.outcome, "admitted")
      assert.strictEqual(next.tokens?.count, 1000)
      assert.deepStrictEqual(yield* limiter.refusals, { user_limit: 0, global_limit: 0, read_limit: 0, token_limit: 1 })
    })
  )

  it.effect("during an outage tokens are decided in memory, and corrected where they were counted", () =>
    Effect.gen(function* () {
      const tokenLimits = withTokens(1000)
      const redis = fakeRedis(tokenLimits)
      const limiter = yield* makeRateLimiter({ limits: tokenLimits, redis: redis.store, probeInterval: "1 second" })
      yield* limiter.consume("alice", 500)
      redis.state.up = false
      const duringOutage = yield* limiter.consume("alice", 800)
      assert.strictEqual(duringOutage.outcome, "admitted", "memory knows nothing of the 500 counted in Redis")
      assert.strictEqual(duringOutage.tokens?.count, 800)
      const consumed = redis.state.consumed
      yield* limiter.settleTokens("alice", duringOutage, 100)
      assert.strictEqual(redis.state.consumed, consumed, "a memory admission is not corrected in Redis")
      const next = yield* limiter.consume("alice", 900)
      assert.strictEqual(next.outcome, "admitted")
      assert.strictEqual(next.tokens?.count, 1000)
      // Giving back a memory admission returns its tokens in memory too.
      assert.isTrue(yield* limiter.giveBack("alice", next))
      assert.strictEqual((yield* limiter.consume("alice", 900)).tokens?.count, 1000)
    })
  )
})
