import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Redis } from "ioredis"
import { makeRedisStore, userKey, globalKey } from "../../src/services/ratelimit/RedisStore.ts"
import type { Verdict } from "../../src/services/ratelimit/Policy.ts"
import { perMinuteAndHour, rateLimitSemantics } from "../support/rateLimitSemantics.ts"
import { deleteKeys, startOwnRedis, uniquePrefix } from "../support/redis.ts"
import { redisAvailable, testRedisUrl } from "../support/services.ts"

describe.skipIf(!redisAvailable)("Redis rate-limit store", () => {
  const runPrefix = uniquePrefix("redis-store")
  let client: Redis
  let stores = 0
  const freshPrefix = () => `${runPrefix}${stores++}:`

  beforeAll(() => {
    client = new Redis(testRedisUrl)
  })
  afterAll(async () => {
    await deleteKeys(client, runPrefix)
    client.disconnect()
  })

  describe("on the TestClock's time", () => {
    rateLimitSemantics((limits) => {
      const store = makeRedisStore(client, limits, { keyPrefix: freshPrefix(), clock: "effect" })
      return Effect.succeed({
        consume: (userId: string) => Effect.orDie(store.consume(userId)),
        consumeRead: (userId: string) => Effect.orDie(store.consumeRead(userId)),
        returnGlobal: (verdict: Verdict) =>
          verdict.globalEntry === undefined ? Effect.void : Effect.orDie(store.returnGlobal(verdict.globalEntry))
      })
    })
  })

  const redisTimeMicros = async () => {
    const [seconds, micros] = await client.time()
    return Number(seconds) * 1_000_000 + Number(micros)
  }

  it.live("uses Redis's clock (TIME) in production", () =>
    Effect.gen(function* () {
      const store = makeRedisStore(client, perMinuteAndHour(60, 1000), { keyPrefix: freshPrefix() })
      const before = yield* Effect.promise(redisTimeMicros)
      const verdict = yield* store.consume("alice")
      const after = yield* Effect.promise(redisTimeMicros)
      assert.isTrue(before <= verdict.nowUs && verdict.nowUs <= after, `${before} <= ${verdict.nowUs} <= ${after}`)
      assert.strictEqual(verdict.userResetUs, verdict.nowUs + 60_000_000)
    })
  )

  it.live("every key it writes has a TTL of one window, and a refusal writes none", () =>
    Effect.gen(function* () {
      const keyPrefix = freshPrefix()
      const store = makeRedisStore(client, perMinuteAndHour(60, 1), { keyPrefix })
      yield* store.consume("alice")
      const [userTtl, globalTtl] = yield* Effect.promise(() =>
        Promise.all([client.pttl(userKey(keyPrefix, "alice")), client.pttl(globalKey(keyPrefix))])
      )
      assert.isTrue(userTtl > 59_000 && userTtl <= 60_000, `user key TTL ${userTtl}`)
      assert.isTrue(globalTtl > 3_599_000 && globalTtl <= 3_600_000, `global key TTL ${globalTtl}`)
      assert.strictEqual((yield* store.consume("bob")).outcome, "global_limit")
      assert.strictEqual(yield* Effect.promise(() => client.exists(userKey(keyPrefix, "bob"))), 0)
    })
  )

  it.live("two independent connections sharing the keys admit exactly 60 of 200", () =>
    Effect.gen(function* () {
      const keyPrefix = freshPrefix()
      const other = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis(testRedisUrl)),
        (connection) => Effect.sync(() => connection.disconnect())
      )
      const limits = perMinuteAndHour(60, 1000)
      const stores = [makeRedisStore(client, limits, { keyPrefix }), makeRedisStore(other, limits, { keyPrefix })]
      const verdicts = yield* Effect.all(
        Array.from({ length: 200 }, (_, i) => stores[i % 2]!.consume("alice")),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(verdicts.filter((verdict) => verdict.outcome === "admitted").length, 60)
    })
  )

  it.live("reloads its script after Redis forgot it (SCRIPT FLUSH on a private server)", () =>
    Effect.gen(function* () {
      const own = yield* Effect.acquireRelease(Effect.promise(startOwnRedis), (server) =>
        Effect.promise(server.dispose)
      )
      const connection = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis(own.url)),
        (connection) => Effect.sync(() => connection.disconnect())
      )
      const store = makeRedisStore(connection, perMinuteAndHour(60, 1000), { keyPrefix: freshPrefix() })
      yield* store.consume("alice")
      yield* Effect.promise(() => connection.script("FLUSH"))
      assert.strictEqual((yield* store.consume("alice")).userCount, 2)
    })
  )
})
