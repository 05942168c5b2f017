/**
 * Redis dying or freezing under traffic. These tests kill and SIGSTOP a redis-server of
 * their own, never the shared one.
 */
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readsKey } from "../../src/services/ratelimit/RedisStore.ts"
import { startGateway, type TestGateway } from "../support/gateway.ts"
import { type Answer, bearer, pool, request } from "../support/http.ts"
import { type OwnRedis, startOwnRedis, uniquePrefix } from "../support/redis.ts"
import { redisAvailable } from "../support/services.ts"

// The shared Redis being reachable says redis-server is installed here; CI requires both.
describe.skipIf(!redisAvailable)("rate limiting through a Redis outage", () => {
  let redis: OwnRedis
  let observer: Redis
  let gateway: TestGateway
  const keyPrefix = uniquePrefix("outage")
  const user = "outage-user"
  let headers: Record<string, string>

  beforeAll(async () => {
    redis = await startOwnRedis()
    // Queues its commands while reconnecting, so it can count as soon as the server is back.
    observer = new Redis(redis.url)
    observer.on("error", () => {})
    // Limits high enough that every request should be admitted: only the outage is under test.
    gateway = await startGateway({
      REDIS_URL: redis.url,
      RATE_LIMIT_KEY_PREFIX: keyPrefix,
      RATE_LIMIT_PER_USER_PER_MINUTE: "100000",
      RATE_LIMIT_READS_PER_USER_PER_MINUTE: "100000",
      RATE_LIMIT_GLOBAL_PER_HOUR: "1000000",
      // /health is read to see the outage as it happens: checks shared, never reused.
      HEALTH_CACHE_SECONDS: "0"
    })
    headers = await bearer(user)
  })
  afterAll(async () => {
    await gateway?.close()
    observer?.disconnect()
    await redis?.dispose()
  })

  const health = async () => {
    const answer = await request(`${gateway.url}/health`)
    expect(answer.ms).toBeLessThan(1000)
    const body = JSON.parse(answer.body)
    return { storage: body.rate_limit_storage, redis: body.components.redis }
  }

  const waitForStorage = async (storage: "redis" | "memory") => {
    const deadline = Date.now() + 10_000
    while ((await health()).storage !== storage) {
      if (Date.now() > deadline) throw new Error(`/health never reported ${storage}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /** 60 requests, 20 at a time, as a client would keep sending them. */
  const traffic = () => pool(60, 20, () => request(`${gateway.url}/v1/models`, { headers }))

  const expectServed = (answers: ReadonlyArray<Answer>) => {
    for (const answer of answers) {
      expect(answer.status).toBe(200)
      expect(answer.headers.get("x-ratelimit-limit")).toBe("100000")
      expect(answer.ms).toBeLessThan(1000)
    }
  }

  const countedInRedis = () => observer.zcard(readsKey(keyPrefix, user))

  // Not an exact count: under CI load a single request can still time out (an "outage" of
  // 150 ms) and be decided in memory; exact counting is ratelimit.test.ts's subject.
  const expectCountedInRedisAgain = async () => {
    const before = await countedInRedis()
    expectServed(await traffic())
    expect((await countedInRedis()) - before).toBeGreaterThan(0)
  }

  it("Redis killed mid-run: no 5xx, no wait, memory while down, Redis again once it is back", async () => {
    expect(await health()).toEqual({ storage: "redis", redis: "healthy" })
    await expectCountedInRedisAgain()

    const [during] = await Promise.all([traffic(), redis.kill()])
    expectServed(during)
    expectServed(await traffic())
    expect(await health()).toEqual({ storage: "memory", redis: "unhealthy" })

    await redis.start()
    await waitForStorage("redis")
    expect((await health()).redis).toBe("healthy")
    await expectCountedInRedisAgain()
  })

  it("Redis frozen (SIGSTOP) mid-run: no 5xx, no wait, memory while frozen, Redis again once it resumes", async () => {
    await waitForStorage("redis")
    expect(await health()).toEqual({ storage: "redis", redis: "healthy" })
    const running = traffic()
    redis.freeze()
    expectServed(await running)
    expectServed(await traffic())
    expect(await health()).toEqual({ storage: "memory", redis: "unhealthy" })

    redis.thaw()
    await waitForStorage("redis")
    expect((await health()).redis).toBe("healthy")
    await expectCountedInRedisAgain()
  })
})
