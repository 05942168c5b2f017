import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Redis } from "ioredis"
import { globalKey, makeRedisStore, tokensKey, userKey } from "../../src/services/ratelimit/RedisStore.ts"
import type { Verdict } from "../../src/services/ratelimit/Policy.ts"
import { perMinuteAndHour, rateLimitSemantics, tokenLimitSemantics, withTokens } from "../support/rateLimitSemantics.ts"
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

  describe("the token limit, on the TestClock's time", () => {
    tokenLimitSemantics((limits) => {
      const store = makeRedisStore(client, limits, { keyPrefix: freshPrefix(), clock: "effect" })
      return Effect.succeed({
        consume: (userId: string, tokens: number) => Effect.orDie(store.consume(userId, tokens)),
        consumeRead: (userId: string) => Effect.orDie(store.consumeRead(userId)),
        settle: (userId: string, verdict: Verdict, used: number) =>
          verdict.tokens?.entry === undefined
            ? Effect.void
            : Effect.orDie(store.correctTokens(userId, verdict.tokens.entry, used, false)),
        giveBack: (userId: string, verdict: Verdict) =>
          verdict.tokens?.entry === undefined
            ? Effect.void
            : Effect.orDie(store.correctTokens(userId, verdict.tokens.entry, 0, true))
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

  it.live("a request's tokens are one field of a hash with a TTL of one window; a correction to 0 removes it", () =>
    Effect.gen(function* () {
      const keyPrefix = freshPrefix()
      const store = makeRedisStore(client, withTokens(1000), { keyPrefix })
      const verdict = yield* store.consume("alice", 100)
      const entry = verdict.tokens?.entry
      assert.isString(entry)
      assert.strictEqual(entry, verdict.globalEntry, "the same member as in the logs")
      const key = tokensKey(keyPrefix, "alice")
      const ttl = yield* Effect.promise(() => client.pttl(key))
      assert.isTrue(ttl > 59_000 && ttl <= 60_000, `tokens key TTL ${ttl}`)
      assert.deepStrictEqual(yield* Effect.promise(() => client.hgetall(key)), { [entry!]: "100", sum: "100" })
      yield* store.correctTokens("alice", entry!, 40, false)
      assert.deepStrictEqual(yield* Effect.promise(() => client.hgetall(key)), { [entry!]: "40", sum: "40" })
      yield* store.correctTokens("alice", entry!, 0, true)
      assert.deepStrictEqual(yield* Effect.promise(() => client.hgetall(key)), { sum: "0" })
      assert.strictEqual(yield* Effect.promise(() => client.zcard(globalKey(keyPrefix))), 0, "global entry given back")
      // A correction of an entry that is gone writes nothing.
      yield* store.correctTokens("bob", "1", 500, false)
      assert.strictEqual(yield* Effect.promise(() => client.exists(tokensKey(keyPrefix, "bob"))), 0)
    })
  )

  it.live("two connections on Redis's clock admit exactly the tokens of the limit, and a correction returns them", () =>
    Effect.gen(function* () {
      const keyPrefix = freshPrefix()
      const other = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis(testRedisUrl)),
        (connection) => Effect.sync(() => connection.disconnect())
      )
      const limits = withTokens(2000)
      const stores = [makeRedisStore(client, limits, { keyPrefix }), makeRedisStore(other, limits, { keyPrefix })]
      const verdicts = yield* Effect.all(
        Array.from({ length: 200 }, (_, i) => stores[i % 2]!.consume("alice", 50)),
        { concurrency: "unbounded" }
      )
      const admitted = verdicts.filter((verdict) => verdict.outcome === "admitted")
      assert.strictEqual(admitted.length, 40)
      assert.strictEqual(verdicts.filter((verdict) => verdict.outcome === "token_limit").length, 160)
      // Each settles at 10 of its 50: 1,600 come back, room for 32 more of 50.
      yield* Effect.all(
        admitted.map((verdict, i) => stores[i % 2]!.correctTokens("alice", verdict.tokens!.entry!, 10, false)),
        { concurrency: "unbounded" }
      )
      const again = yield* Effect.all(
        Array.from({ length: 40 }, () => stores[0]!.consume("alice", 50)),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(again.filter((verdict) => verdict.outcome === "admitted").length, 32)
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
