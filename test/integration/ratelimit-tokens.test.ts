/**
 * The per-user token limit over HTTP (RATE_LIMIT_TOKENS_PER_USER_PER_MINUTE): OpenAI's token headers, the
 * bound at admission and the usage after settle, the 429 that names the limit, the 400 of a request that can
 * never fit, and the limit kept in memory through a Redis outage. Exactness under concurrency is the stores'
 * subject (test/support/rateLimitSemantics.ts, RedisStore.test.ts).
 */
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { RawEnv } from "../../src/Config.ts"
import { tokensKey } from "../../src/services/ratelimit/RedisStore.ts"
import { startGateway, type TestGateway } from "../support/gateway.ts"
import { type Answer, bearer, request } from "../support/http.ts"
import { until } from "../support/ports.ts"
import { cleanUpAfter, type OwnRedis, startOwnRedis, uniquePrefix } from "../support/redis.ts"
import { redisAvailable, testRedisUrl } from "../support/services.ts"

const limit = 1000

const storages: ReadonlyArray<readonly [string, () => RawEnv]> = [
  ["memory", () => ({})],
  ...(redisAvailable
    ? [
        [
          "redis",
          // A generous command timeout: a loaded machine must not turn this into an outage test.
          () => ({
            REDIS_URL: testRedisUrl,
            RATE_LIMIT_KEY_PREFIX: uniquePrefix("tokens"),
            REDIS_COMMAND_TIMEOUT_MS: "3000"
          })
        ] as const
      ]
    : [])
]

const chatBody = (content: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: "gpt-4", messages: [{ role: "user", content }], ...extra })

const chat = async (gateway: TestGateway, sub: string) => {
  const headers = { ...(await bearer(sub)), "content-type": "application/json" }
  return (body: string) => request(`${gateway.url}/v1/chat/completions`, { method: "POST", headers, body })
}

const remainingTokens = (answer: Answer) => Number(answer.headers.get("x-ratelimit-remaining-tokens"))

const usedTokens = (answer: Answer) => {
  const { usage } = JSON.parse(answer.body)
  return usage.prompt_tokens + usage.completion_tokens
}

/**
 * 20 choices of at most 40 tokens: a bound of 800 and some for the prompt, and a usage of at least 200 (the
 * simulator writes at least 10 words a choice). Two such requests cannot share a minute of 1,000 tokens, whether
 * the first one holds its bound or, corrected, its usage.
 */
const large = chatBody("hi", { max_tokens: 40, n: 20 })

describe.each(storages)("the token limit over HTTP (%s store)", (storage, env) => {
  let gateway: TestGateway
  const gatewayEnv: RawEnv = { ...env(), RATE_LIMIT_TOKENS_PER_USER_PER_MINUTE: String(limit) }
  beforeAll(async () => {
    gateway = await startGateway(gatewayEnv)
  })
  afterAll(async () => {
    await gateway.close()
    await cleanUpAfter(gatewayEnv)
  })

  /** What the user's window holds once the correction at settle has landed (in Redis it lands after the answer). */
  const settledTokens = async (sub: string, expected: number) => {
    if (storage !== "redis") return
    const observer = new Redis(testRedisUrl)
    try {
      const key = tokensKey(gatewayEnv["RATE_LIMIT_KEY_PREFIX"]!, sub)
      await until(async () => Number(await observer.hget(key, "sum")) === expected, `${expected} tokens held`)
    } finally {
      observer.disconnect()
    }
  }

  it("an answer carries OpenAI's token headers: admitted at its bound, then held at its usage", async () => {
    const call = await chat(gateway, "tokens-headers")
    const first = await call(chatBody("hi", { max_tokens: 200 }))
    expect(first.status, first.body).toBe(200)
    expect(first.headers.get("x-ratelimit-limit-tokens")).toBe(String(limit))
    expect(first.headers.get("x-ratelimit-reset-tokens")).toBe("1m0s")
    // The bound is the prompt's ceiling plus the budget: at least what was used, and more than the budget.
    const bound = limit - remainingTokens(first)
    const used = usedTokens(first)
    expect(bound).toBeGreaterThan(200)
    expect(bound).toBeGreaterThanOrEqual(used)
    // The per-request headers are still there, beside the token ones.
    expect(first.headers.get("x-ratelimit-limit")).toBe("60")
    expect(first.headers.get("x-ratelimit-remaining")).toBe("59")

    await settledTokens("tokens-headers", used)
    const second = await call(chatBody("hi", { max_tokens: 200 }))
    expect(second.status).toBe(200)
    // The first now holds its usage, not its bound.
    expect(remainingTokens(second)).toBe(limit - used - bound)
  })

  it("a request over the token limit gets 429 naming it, with Retry-After, and is not charged", async () => {
    const call = await chat(gateway, "tokens-full")
    const first = await call(large)
    expect(first.status, first.body).toBe(200)
    const refused = await call(large)
    expect(refused.status, refused.body).toBe(429)
    const body = JSON.parse(refused.body)
    expect(body).toMatchObject({ code: 429, error_type: "rate_limit_error", error: { type: "rate_limit_error" } })
    const match =
      /^Rate limit exceeded\. Try again in (\d+) seconds\. The per-user limit of 1000 tokens per minute is reached: this request may use up to (\d+) tokens, and (\d+) are in use\.$/.exec(
        body.detail
      )
    expect(match, body.detail).not.toBeNull()
    expect(refused.headers.get("retry-after")).toBe(match![1])
    expect(Number(match![1])).toBeGreaterThanOrEqual(59)
    expect(Number(match![1])).toBeLessThanOrEqual(60)
    expect(Number(match![2]) + Number(match![3])).toBeGreaterThan(limit)
    expect(refused.headers.get("x-ratelimit-limit-tokens")).toBe(String(limit))
    expect(refused.headers.get("x-ratelimit-reset-tokens")).toMatch(/^(59(\.\d+)?s|1m0s)$/)
    // The refused request consumed no request slot and no tokens, and cost nothing.
    expect(refused.headers.get("x-ratelimit-remaining")).toBe("59")
    const reads = { headers: await bearer("tokens-full") }
    const balance = JSON.parse((await request(`${gateway.url}/billing/balance`, reads)).body)
    expect(balance.available).toBe(balance.balance)
    // The initial credit and the first answer's charge.
    expect(JSON.parse((await request(`${gateway.url}/billing/transactions`, reads)).body).total).toBe(2)
  })

  it("a budget that can never fit is a 400 naming its field; without one, the budget is what the limit leaves", async () => {
    const call = await chat(gateway, "tokens-budget")
    const tooLarge = await call(chatBody("hi", { max_tokens: 5000 }))
    expect(tooLarge.status, tooLarge.body).toBe(400)
    const error = JSON.parse(tooLarge.body).error
    expect(error.param).toBe("max_tokens")
    expect(error.message).toMatch(/can never fit in the per-user limit of 1000 tokens per minute/)
    // It counted against the request limit like any 400, and held no tokens.
    expect(tooLarge.headers.get("x-ratelimit-remaining")).toBe("59")
    expect(remainingTokens(tooLarge)).toBe(limit)

    const unbounded = await call(chatBody("hi"))
    expect(unbounded.status, unbounded.body).toBe(200)
    // gpt-4 may write 8,192 tokens; the budget sent upstream was lowered so that the bound is the whole limit.
    const budget = Number(unbounded.headers.get("x-gateway-max-tokens"))
    expect(budget).toBeLessThan(limit)
    expect(remainingTokens(unbounded)).toBe(0)
  })

  it("embeddings count their inputs: admitted at the inputs' ceiling, held at their usage, 400 when they never fit", async () => {
    const headers = { ...(await bearer("tokens-embeddings")), "content-type": "application/json" }
    const embed = (input: unknown) =>
      request(`${gateway.url}/v1/embeddings`, {
        method: "POST",
        headers,
        body: JSON.stringify({ model: "text-embedding-3-small", input })
      })
    const first = await embed(["one text", "another text"])
    expect(first.status, first.body).toBe(200)
    expect(first.headers.get("x-ratelimit-limit-tokens")).toBe(String(limit))
    const bound = limit - remainingTokens(first)
    const used = JSON.parse(first.body).usage.prompt_tokens
    expect(used).toBeGreaterThan(0)
    expect(bound).toBeGreaterThanOrEqual(used)
    await settledTokens("tokens-embeddings", used)
    const second = await embed(["one text", "another text"])
    expect(remainingTokens(second)).toBe(limit - used - bound)

    const tooLarge = await embed("x".repeat(2000))
    expect(tooLarge.status, tooLarge.body).toBe(400)
    expect(JSON.parse(tooLarge.body).error.param).toBe("input")
  })

  it("/v1/messages counts as chat does: the token headers, the bound at admission", async () => {
    const answer = await request(`${gateway.url}/v1/messages`, {
      method: "POST",
      headers: {
        ...(await bearer("tokens-messages")),
        "content-type": "application/json",
        "anthropic-version": "2023-06-01"
      },
      body: JSON.stringify({ model: "gpt-4", max_tokens: 200, messages: [{ role: "user", content: "hi" }] })
    })
    expect(answer.status, answer.body).toBe(200)
    expect(answer.headers.get("x-ratelimit-limit-tokens")).toBe(String(limit))
    const { usage } = JSON.parse(answer.body)
    expect(limit - remainingTokens(answer)).toBeGreaterThanOrEqual(200 + usage.input_tokens)
  })

  it("a request refused before it was priced holds no tokens", async () => {
    const call = await chat(gateway, "tokens-unpriced")
    const notFound = await call(JSON.stringify({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] }))
    expect(notFound.status).toBe(404)
    expect(notFound.headers.get("x-ratelimit-remaining")).toBe("59")
    expect(remainingTokens(notFound)).toBe(limit)
  })
})

describe.each(storages)("a priced request that never reaches an upstream (%s store)", (storage, env) => {
  let gateway: TestGateway
  const gatewayEnv: RawEnv = {
    ...env(),
    RATE_LIMIT_TOKENS_PER_USER_PER_MINUTE: String(limit),
    BILLING_INITIAL_BALANCE: "0"
  }
  beforeAll(async () => {
    gateway = await startGateway(gatewayEnv)
  })
  afterAll(async () => {
    await gateway.close()
    await cleanUpAfter(gatewayEnv)
  })

  it("gives its tokens back: a 402 was admitted at its bound, and holds nothing once answered", async () => {
    const call = await chat(gateway, "tokens-broke")
    for (let i = 0; i < 3; i++) {
      // Each bound alone is most of the limit: were any kept, the next would be refused with 429.
      const broke = await call(large)
      expect(broke.status, broke.body).toBe(402)
      expect(remainingTokens(broke)).toBe(limit)
    }
    if (storage === "redis") {
      const observer = new Redis(testRedisUrl)
      const held = await observer.hget(tokensKey(gatewayEnv["RATE_LIMIT_KEY_PREFIX"]!, "tokens-broke"), "sum")
      observer.disconnect()
      expect(held).toBe("0")
    }
  })
})

describe.skipIf(!redisAvailable)("the token limit through a Redis outage", () => {
  let redis: OwnRedis
  let gateway: TestGateway

  beforeAll(async () => {
    redis = await startOwnRedis()
    gateway = await startGateway({
      REDIS_URL: redis.url,
      RATE_LIMIT_KEY_PREFIX: uniquePrefix("tokens-outage"),
      RATE_LIMIT_TOKENS_PER_USER_PER_MINUTE: String(limit),
      HEALTH_CACHE_SECONDS: "0"
    })
  })
  afterAll(async () => {
    await gateway?.close()
    await redis?.dispose()
  })

  it("Redis killed: chat is decided in memory, with the token headers, and the token limit still holds", async () => {
    const call = await chat(gateway, "tokens-outage")
    expect((await call(chatBody("hi", { max_tokens: 100 }))).status).toBe(200)
    await redis.kill()
    const first = await call(large)
    expect(first.status, first.body).toBe(200)
    expect(first.headers.get("x-ratelimit-limit-tokens")).toBe(String(limit))
    const refused = await call(large)
    expect(refused.status, refused.body).toBe(429)
    expect(JSON.parse(refused.body).detail).toMatch(/tokens per minute is reached/)
    const health = JSON.parse((await request(`${gateway.url}/health`)).body)
    expect(health.rate_limit_storage).toBe("memory")
  })
})
