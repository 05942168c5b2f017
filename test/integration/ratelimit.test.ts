import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { RawEnv } from "../../src/Config.ts"
import { startGateway, type TestGateway, token } from "../support/gateway.ts"
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

const chatBody = (model = "gpt-4", extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], ...extra })

/** A user's chat call: `body` defaults to a valid plain request. */
const chat = async (gateway: TestGateway, sub: string) => {
  const headers = { ...(await bearer(sub)), "content-type": "application/json" }
  return (body = chatBody()) => request(`${gateway.url}/v1/chat/completions`, { method: "POST", headers, body })
}

const models = async (gateway: TestGateway, sub: string) => {
  const headers = await bearer(sub)
  return () => request(`${gateway.url}/v1/models`, { headers })
}

const expectRefusal = (answer: Answer, which: "per-user" | "global") => {
  expect(answer.status, answer.body).toBe(429)
  const body = JSON.parse(answer.body)
  expect(body).toMatchObject({ code: 429, error_type: "rate_limit_error" })
  const match = /^Rate limit exceeded\. Try again in (\d+) seconds\. The (per-user|global) limit/.exec(body.detail)
  expect(match, body.detail).not.toBeNull()
  expect(match![2]).toBe(which)
  expect(answer.headers.get("retry-after")).toBe(match![1])
  return Number(match![1])
}

const readPolicy = `"reads";q=20;w=60`

describe.each(storages)("rate limits over HTTP (%s store)", (storage, env) => {
  let gateway: TestGateway
  const gatewayEnv = { ...env(), RATE_LIMIT_READS_PER_USER_PER_MINUTE: "20" }
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

  it("200 concurrent chat requests of one user: exactly 60 admitted, 140 refused, all with the headers", async () => {
    const call = await chat(gateway, "burst-user")
    const startedAt = Date.now() / 1000
    const answers = await Promise.all(Array.from({ length: 200 }, () => call()))
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
      // Without RATE_LIMIT_TOKENS_PER_USER_PER_MINUTE there is no token limit to report.
      expect(answer.headers.get("x-ratelimit-limit-tokens")).toBeNull()
      const reset = Number(answer.headers.get("x-ratelimit-reset"))
      expect(reset).toBeGreaterThanOrEqual(Math.floor(startedAt) + 59)
      expect(reset).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 61)
    }
    // The first admitted request leaves the window 60 s after it was admitted: a refusal is told to wait what is
    // left of that, which is 59 or 60 s when the burst took under a second, less when a busy machine took longer.
    const burstSeconds = Math.ceil(Date.now() / 1000 - startedAt)
    for (const answer of refused) {
      const retryAfter = expectRefusal(answer, "per-user")
      expect(retryAfter).toBeGreaterThanOrEqual(60 - burstSeconds)
      expect(retryAfter).toBeLessThanOrEqual(60)
      expect(answer.headers.get("x-ratelimit-remaining")).toBe("0")
      const [, untilFree] = answer.headers.get("ratelimit")!.match(/^"per-user";r=0;t=(\d+), "global";r=\d+;t=\d+$/)!
      expect(Number(untilFree)).toBeGreaterThanOrEqual(60 - burstSeconds)
      expect(Number(untilFree)).toBeLessThanOrEqual(60)
    }
    // The refused requests held nothing: the balance is whole, less the 60 answers.
    const balance = JSON.parse(
      (await request(`${gateway.url}/billing/balance`, { headers: await bearer("burst-user") })).body
    )
    expect(balance.available).toBe(balance.balance)
    const transactions = JSON.parse(
      (await request(`${gateway.url}/billing/transactions?limit=100`, { headers: await bearer("burst-user") })).body
    )
    expect(transactions.total).toBe(61)
  })

  it("every authenticated response carries the headers of the limit that applied; 401s are not counted", async () => {
    const headers = await bearer("headers-user")
    const call = await chat(gateway, "headers-user")
    for (let i = 0; i < 3; i++) {
      const anonymous = await request(`${gateway.url}/v1/chat/completions`, { method: "POST", body: chatBody() })
      expect(anonymous.status).toBe(401)
      expect(anonymous.headers.get("x-ratelimit-remaining")).toBeNull()
    }
    const globalRemaining = (answer: Answer) =>
      Number(/"global";r=(\d+);t=\d+$/.exec(answer.headers.get("ratelimit") ?? "")![1])

    const invalid = await call(JSON.stringify({ model: "gpt-4", messages: [] }))
    expect(invalid.status).toBe(400)
    expect(invalid.headers.get("x-ratelimit-remaining")).toBe("59")
    const notFound = await call(chatBody("no-such-model"))
    expect(notFound.status).toBe(404)
    expect(notFound.headers.get("x-ratelimit-remaining")).toBe("58")
    // Neither reached an upstream: both gave their global slot back, and say so.
    expect(globalRemaining(notFound)).toBe(globalRemaining(invalid))

    const stream = await call(chatBody("gpt-4", { stream: true }))
    expect(stream.status).toBe(200)
    expect(stream.headers.get("content-type")).toBe("text/event-stream")
    expect(stream.headers.get("x-ratelimit-remaining")).toBe("57")
    expect(stream.headers.get("ratelimit")).toMatch(/^"per-user";r=57;t=60, "global";r=\d+;t=\d+$/)
    expect(globalRemaining(stream)).toBeLessThan(globalRemaining(notFound))

    // Reads count against their own limit, and their headers name it.
    const list = await request(`${gateway.url}/v1/models`, { headers })
    expect(list.status).toBe(200)
    expect(list.headers.get("x-ratelimit-limit")).toBe("20")
    expect(list.headers.get("x-ratelimit-remaining")).toBe("19")
    expect(list.headers.get("ratelimit-policy")).toBe(readPolicy)
    expect(list.headers.get("ratelimit")).toBe(`"reads";r=19;t=60`)
    const missingModel = await request(`${gateway.url}/v1/models/no-such-model`, { headers })
    expect(missingModel.status).toBe(404)
    expect(missingModel.headers.get("x-ratelimit-remaining")).toBe("18")
    const balance = await request(`${gateway.url}/billing/balance`, { headers })
    expect(balance.headers.get("x-ratelimit-remaining")).toBe("17")
    // ...and leave the chat limit alone.
    expect((await call()).headers.get("x-ratelimit-remaining")).toBe("56")
  })

  it("reads have their own per-user limit: the 21st is refused, naming it, and chat goes on", async () => {
    const list = await models(gateway, "reader")
    const answers = await Promise.all(Array.from({ length: 25 }, list))
    expect(answers.filter((answer) => answer.status === 200).length).toBe(20)
    const refused = answers.filter((answer) => answer.status !== 200)
    expect(refused.length).toBe(5)
    for (const answer of refused) {
      expect(answer.status).toBe(429)
      expect(JSON.parse(answer.body).detail).toMatch(
        /^Rate limit exceeded\. Try again in (59|60) seconds\. The per-user limit of 20 reads/
      )
      expect(answer.headers.get("ratelimit")).toMatch(/^"reads";r=0;t=(59|60)$/)
    }
    expect((await (await chat(gateway, "reader"))()).status).toBe(200)
  })

  it("a user past the chat limit hears 429 first, even for a request that would be a 404", async () => {
    const call = await chat(gateway, "past-limit")
    await Promise.all(Array.from({ length: 60 }, () => call()))
    expectRefusal(await call(chatBody("no-such-model")), "per-user")
    expectRefusal(await call(JSON.stringify({ model: "gpt-4" })), "per-user")
  })
})

describe.each(storages)("the global limit over HTTP (%s store)", (_storage, env) => {
  let gateway: TestGateway
  const gatewayEnv = { ...env(), RATE_LIMIT_GLOBAL_PER_HOUR: "100" }
  beforeAll(async () => {
    gateway = await startGateway(gatewayEnv)
  })
  afterAll(async () => {
    await gateway.close()
    await cleanUpAfter(gatewayEnv)
  })

  it("150 chat requests from 50 users: exactly 100 admitted", async () => {
    const calls = await Promise.all(Array.from({ length: 50 }, (_, i) => chat(gateway, `crowd-${i}`)))
    const answers = await pool(150, 50, (i) => calls[i % 50]!())
    expect(answers.filter((answer) => answer.status === 200).length).toBe(100)
    const refused = answers.filter((answer) => answer.status !== 200)
    expect(refused.length).toBe(50)
    for (const answer of refused) {
      const retryAfter = expectRefusal(answer, "global")
      expect(retryAfter).toBeGreaterThan(3500)
      expect(answer.headers.get("ratelimit")).toMatch(/, "global";r=0;t=\d+$/)
    }
  })

  it("reads never consume the global budget, and are served when it is spent", async () => {
    const list = await models(gateway, "crowd-0")
    expect((await list()).status).toBe(200)
  })
})

describe.each(storages)("one user cannot spend everyone's global budget (%s store)", (_storage, env) => {
  let gateway: TestGateway
  const gatewayEnv = { ...env(), RATE_LIMIT_GLOBAL_PER_HOUR: "10", BILLING_INITIAL_BALANCE: "0" }
  beforeAll(async () => {
    gateway = await startGateway(gatewayEnv)
  })
  afterAll(async () => {
    await gateway.close()
    await cleanUpAfter(gatewayEnv)
  })

  it("60 requests refused before any upstream call (402, 404, 400) and 100 reads leave the global budget whole", async () => {
    const broke = await chat(gateway, "broke")
    const refusedBeforeUpstream = await pool(60, 10, (i) =>
      broke(i % 3 === 0 ? chatBody() : i % 3 === 1 ? chatBody("no-such-model") : JSON.stringify({ model: "gpt-4" }))
    )
    expect(refusedBeforeUpstream.map((answer) => answer.status).sort()).toEqual([
      ...Array(20).fill(400),
      ...Array(20).fill(402),
      ...Array(20).fill(404)
    ])
    // They still count against their user: the 61st is refused by the per-user limit.
    expectRefusal(await broke(), "per-user")
    const brokeReads = { headers: await bearer("broke") }
    await pool(100, 10, () => request(`${gateway.url}/billing/balance`, brokeReads))

    // Another user, with money, gets the whole global budget of 10 upstream calls.
    const credit = await request(`${gateway.url}/billing/credits`, {
      method: "POST",
      headers: { authorization: `Bearer ${await token("admin", { admin: true })}`, "content-type": "application/json" },
      body: JSON.stringify({ user_id: "payer", amount: 10 })
    })
    expect(credit.status).toBe(200)
    const payer = await chat(gateway, "payer")
    const served = await pool(10, 5, () => payer())
    expect(served.map((answer) => answer.status)).toEqual(Array(10).fill(200))
    expectRefusal(await payer(), "global")
  })
})

describe("requests an open circuit breaker refuses", () => {
  // gpt-4 goes to an OpenAI that refuses connections; its breaker opens at the first failure. claude-3 is simulated.
  const gatewayEnv = {
    RATE_LIMIT_GLOBAL_PER_HOUR: "3",
    OPENAI_API_KEY: "sk-test",
    OPENAI_BASE_URL: "http://127.0.0.1:9/v1",
    RETRY_ENABLED: "false",
    CIRCUIT_BREAKER_FAILURE_THRESHOLD: "1"
  }
  let gateway: TestGateway
  beforeAll(async () => {
    gateway = await startGateway(gatewayEnv)
  })
  afterAll(() => gateway.close())

  it("never reach an upstream, so they leave the global budget to requests that do", async () => {
    const user = await chat(gateway, "breaker-user")
    // The first call reaches OpenAI (and fails): one of the three global slots.
    expect((await user(chatBody("gpt-4"))).status).toBe(503)
    for (let i = 0; i < 10; i++) {
      // Refused by the open breaker, with the time it stays open.
      const refused = await user(chatBody("gpt-4"))
      expect(refused.status).toBe(503)
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0)
    }
    // The two slots left are still there for calls that reach an upstream.
    expect((await user(chatBody("claude-3"))).status).toBe(200)
    expect((await user(chatBody("claude-3"))).status).toBe(200)
    expectRefusal(await user(chatBody("claude-3")), "global")
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

  it("admit exactly 60 chat requests of one user in total", async () => {
    for (const gateway of gateways) {
      expect(JSON.parse((await request(`${gateway.url}/health`)).body).rate_limit_storage).toBe("redis")
    }
    // 100 requests reach each gateway: limits kept per gateway would admit 120.
    const calls = await Promise.all(gateways.map((gateway) => chat(gateway, "shared-user")))
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => calls[i % 2]!()))
    expect(answers.filter((answer) => answer.status === 200).length).toBe(60)
    expect(answers.filter((answer) => answer.status === 429).length).toBe(140)
  })
})
