import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RawEnv } from "../../src/ConfigParse.ts"
import { startGateway, type TestGateway } from "../support/gateway.ts"
import { type Answer, bearer, pool, request } from "../support/http.ts"
import { cleanUpAfter, uniquePrefix } from "../support/redis.ts"
import { redisAvailable, testRedisUrl } from "../support/services.ts"

const policy = `"per-user";q=60;w=60, "global";q=1000;w=3600`

/**
 * These tests are about exactness, not outages. A loaded CI machine can pause this process
 * for longer than the default 150 ms command timeout, which the gateway rightly treats as
 * an outage (per-process limits for a moment); ratelimit-outage.test.ts covers that case.
 */
const sharedRedis = (label: string): RawEnv => ({
  REDIS_URL: testRedisUrl,
  RATE_LIMIT_KEY_PREFIX: uniquePrefix(label),
  REDIS_COMMAND_TIMEOUT_MS: "3000"
})

const storages: ReadonlyArray<readonly [string, () => RawEnv]> = [
  ["memory", () => ({})],
  ...(redisAvailable ? [["redis", () => sharedRedis("http")] as const] : [])
]

const models = async (gateway: TestGateway, sub: string) => {
  const headers = await bearer(sub)
  return () => request(`${gateway.url}/v1/models`, { headers })
}

const expectRefusal = (answer: Answer, which: "per-user" | "global") => {
  expect(answer.status).toBe(429)
  const body = JSON.parse(answer.body)
  expect(body).toMatchObject({ code: 429, error_type: "rate_limit_error" })
  const match = /^Rate limit exceeded\. Try again in (\d+) seconds\. The (per-user|global) limit/.exec(body.detail)
  expect(match, body.detail).not.toBeNull()
  expect(match![2]).toBe(which)
  expect(answer.headers.get("retry-after")).toBe(match![1])
  return Number(match![1])
}

describe.each(storages)("rate limits over HTTP (%s store)", (storage, env) => {
  let gateway: TestGateway
  const gatewayEnv = env()
  beforeAll(async () => {
    gateway = await startGateway(gatewayEnv)
  })
  afterAll(async () => {
    await gateway.close()
    await cleanUpAfter(gatewayEnv)
  })

  it("/health names the store", async () => {
    const health = JSON.parse((await request(`${gateway.url}/health`)).body)
    expect(health.rate_limit_storage).toBe(storage)
    expect(health.components.redis).toBe("healthy")
  })

  it("200 concurrent requests of one user: exactly 60 admitted, 140 refused, all with the headers", async () => {
    const call = await models(gateway, "burst-user")
    const startedAt = Date.now() / 1000
    const answers = await Promise.all(Array.from({ length: 200 }, call))
    const admitted = answers.filter((answer) => answer.status === 200)
    const refused = answers.filter((answer) => answer.status !== 200)
    expect(admitted.length).toBe(60)
    expect(refused.length).toBe(140)

    // Check-and-consume is atomic: each admitted request saw a different remaining count.
    const remaining = admitted.map((answer) => Number(answer.headers.get("x-ratelimit-remaining")))
    expect(remaining.sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i))
    for (const answer of answers) {
      expect(answer.headers.get("x-ratelimit-limit")).toBe("60")
      expect(answer.headers.get("ratelimit-policy")).toBe(policy)
      const reset = Number(answer.headers.get("x-ratelimit-reset"))
      expect(reset).toBeGreaterThanOrEqual(Math.floor(startedAt) + 59)
      expect(reset).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 61)
    }
    for (const answer of refused) {
      const retryAfter = expectRefusal(answer, "per-user")
      expect(retryAfter).toBeGreaterThanOrEqual(59)
      expect(retryAfter).toBeLessThanOrEqual(60)
      expect(answer.headers.get("x-ratelimit-remaining")).toBe("0")
      expect(answer.headers.get("ratelimit")).toMatch(/^"per-user";r=0;t=(59|60), "global";r=\d+;t=\d+$/)
    }
  })

  it("every authenticated response carries the headers, errors and streams included; 401s are not counted", async () => {
    const headers = { ...(await bearer("headers-user")), "content-type": "application/json" }
    for (let i = 0; i < 3; i++) {
      const anonymous = await request(`${gateway.url}/v1/models`)
      expect(anonymous.status).toBe(401)
      expect(anonymous.headers.get("x-ratelimit-remaining")).toBeNull()
    }
    const notFound = await request(`${gateway.url}/v1/models/no-such-model`, { headers })
    expect(notFound.status).toBe(404)
    expect(notFound.headers.get("x-ratelimit-remaining")).toBe("59")

    const invalid = await request(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers,
      body: JSON.stringify({ model: "gpt-4", messages: [] })
    })
    expect(invalid.status).toBe(400)
    expect(invalid.headers.get("x-ratelimit-remaining")).toBe("58")

    const stream = await request(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers,
      body: JSON.stringify({ model: "gpt-4", messages: [{ role: "user", content: "hi" }], stream: true })
    })
    expect(stream.status).toBe(200)
    expect(stream.headers.get("content-type")).toBe("text/event-stream")
    expect(stream.headers.get("x-ratelimit-remaining")).toBe("57")
    expect(stream.headers.get("ratelimit")).toMatch(/^"per-user";r=57;t=60, "global";r=\d+;t=\d+$/)

    const billing = await request(`${gateway.url}/billing/balance`, { headers })
    expect(billing.headers.get("x-ratelimit-remaining")).toBe("56")
  })
})

describe.each(storages)("the global limit over HTTP (%s store)", (_storage, env) => {
  let gateway: TestGateway
  const gatewayEnv = env()
  beforeAll(async () => {
    gateway = await startGateway(gatewayEnv)
  })
  afterAll(async () => {
    await gateway.close()
    await cleanUpAfter(gatewayEnv)
  })

  it("1,250 requests from 50 users: exactly 1,000 admitted", async () => {
    const calls = await Promise.all(Array.from({ length: 50 }, (_, i) => models(gateway, `crowd-${i}`)))
    const answers = await pool(1250, 100, (i) => calls[i % 50]!())
    expect(answers.filter((answer) => answer.status === 200).length).toBe(1000)
    const refused = answers.filter((answer) => answer.status !== 200)
    expect(refused.length).toBe(250)
    for (const answer of refused) {
      const retryAfter = expectRefusal(answer, "global")
      expect(retryAfter).toBeGreaterThan(3500)
      expect(answer.headers.get("ratelimit")).toMatch(/, "global";r=0;t=\d+$/)
    }
  })
})

describe.skipIf(!redisAvailable)("two gateways sharing one Redis", () => {
  let gateways: ReadonlyArray<TestGateway>
  const env = sharedRedis("two-gateways")
  beforeAll(async () => {
    gateways = await Promise.all([startGateway(env), startGateway(env)])
  })
  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => gateway.close()))
    await cleanUpAfter(env)
  })

  it("admit exactly 60 requests of one user in total", async () => {
    for (const gateway of gateways) {
      expect(JSON.parse((await request(`${gateway.url}/health`)).body).rate_limit_storage).toBe("redis")
    }
    // 100 requests reach each gateway: limits kept per gateway would admit 120.
    const calls = await Promise.all(gateways.map((gateway) => models(gateway, "shared-user")))
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => calls[i % 2]!()))
    expect(answers.filter((answer) => answer.status === 200).length).toBe(60)
    expect(answers.filter((answer) => answer.status === 429).length).toBe(140)
  })
})
