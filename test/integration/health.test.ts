/**
 * The health family against real dependencies that go away: PostgreSQL is reached through a
 * TCP proxy the test cuts (the shared server is never touched), Redis is a redis-server of
 * the test's own that it kills and freezes. Every answer is decoded with the spec's schemas.
 */
import { Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { DetailedHealth, Health, HealthHistory, Monitoring, Readiness, SystemHealth } from "../../src/domain/Health.ts"
import { builtInEmbeddingModels, builtInModels } from "../../src/services/registry/ModelCatalog.ts"
import { freshDatabase, type FreshDatabase } from "../support/database.ts"
import { startGateway, type TestGateway } from "../support/gateway.ts"
import { cleanUpAfter, type OwnRedis, startOwnRedis, uniquePrefix } from "../support/redis.ts"
import { postgresAvailable } from "../support/services.ts"
import { startTcpProxy, type TcpProxy } from "../support/tcpProxy.ts"

let database: FreshDatabase
let proxy: TcpProxy
let redis: OwnRedis
let gateway: TestGateway
let env: Record<string, string>

beforeAll(async () => {
  if (!postgresAvailable) return
  database = await freshDatabase("health")
  const target = new URL(database.url)
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) })
  redis = await startOwnRedis()
  const viaProxy = new URL(database.url)
  viaProxy.port = String(proxy.port)
  // Checks shared by concurrent callers but never reused, so that each probe sees an outage at once.
  env = {
    DATABASE_URL: viaProxy.toString(),
    REDIS_URL: redis.url,
    RATE_LIMIT_KEY_PREFIX: uniquePrefix("health"),
    HEALTH_CACHE_SECONDS: "0"
  }
  gateway = await startGateway(env)
})
afterAll(async () => {
  if (!postgresAvailable) return
  await gateway.close()
  await cleanUpAfter(env).catch(() => {})
  await redis.dispose()
  await proxy.close()
  await database.drop()
})

const get = async <A, I>(path: string, schema: Schema.Codec<A, I>) => {
  const started = performance.now()
  const response = await fetch(`${gateway.url}${path}`)
  const body = Schema.decodeUnknownSync(schema)(await response.json())
  return { status: response.status, body, ms: performance.now() - started }
}

/** Polls until `check` passes (the limiter's probe notices a Redis outage within about a second). */
const eventually = async (check: () => Promise<void>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}

describe.skipIf(!postgresAvailable)("the health family", () => {
  it("answers every endpoint in the spec's shape while everything is up", async () => {
    const health = await get("/health", Health)
    expect(health.status).toBe(200)
    expect(health.body).toMatchObject({
      status: "healthy",
      version: "0.0.0-test",
      environment: "development",
      components: { database: "healthy", redis: "healthy", llm_services: "healthy" },
      rate_limit_storage: "redis",
      retry_enabled: true,
      circuit_breaker_enabled: true
    })

    const detailed = await get("/health/detailed", DetailedHealth)
    expect(detailed.status).toBe(200)
    const { database: db, redis: cache, llm_services } = detailed.body.components
    expect(db).toMatchObject({ status: "healthy", message: "Database connection successful" })
    expect(db.details).toMatchObject({ connection_pool_size: 10 })
    expect(db.details["active_connections"]).toBeGreaterThanOrEqual(1)
    expect(cache.details).toMatchObject({ connected: true })
    expect(cache.details["memory_usage"]).toMatch(/^\d+(\.\d+)?[KMG]B$/)
    // Every model of the built-in catalog, each healthy.
    expect(llm_services.details).toEqual(
      Object.fromEntries([...builtInModels, ...builtInEmbeddingModels].map((model) => [model.id, "healthy"]))
    )
    for (const check of [db, cache, llm_services]) expect(check.duration_ms).toBeGreaterThanOrEqual(0)

    const monitoring = await get("/health/monitoring", Monitoring)
    expect(monitoring.body).toEqual({
      langfuse: { status: "healthy", enabled: false },
      prometheus: { status: "healthy", enabled: true },
      sentry: { status: "healthy", enabled: false }
    })

    const system = await get("/health/system", SystemHealth)
    expect(system.status).toBe(200)
    const { details } = system.body
    for (const percent of [details.cpu_usage_percent, details.memory_usage_percent, details.disk_usage_percent]) {
      expect(percent).toBeGreaterThanOrEqual(0)
      expect(percent).toBeLessThanOrEqual(100)
    }
    expect(details.memory_usage_percent).toBeGreaterThan(0)
    expect(details.network_connections).toBeGreaterThan(0)

    const ready = await get("/ready", Readiness)
    expect(ready.status).toBe(200)
    expect(ready.body.checks).toMatchObject({ database: true, migrations: true, redis: true, llm_services: true })

    const history = await get("/health/history", HealthHistory)
    expect(history.body.total_checks).toBeGreaterThanOrEqual(history.body.history.length)
    expect(history.body.history.map((entry) => entry.name)).toEqual(
      expect.arrayContaining(["database", "redis", "llm_services", "system"])
    )
  })

  it("turns unhealthy and unready while the database is cut off, and recovers when it is back", async () => {
    await proxy.cut()
    try {
      const health = await get("/health", Health)
      expect(health.status).toBe(503)
      expect(health.body.status).toBe("unhealthy")
      expect(health.body.components.database).toBe("unhealthy")
      // Bounded: a probe answers within the check timeout (2 s) and some slack.
      expect(health.ms).toBeLessThan(4_000)

      const ready = await get("/ready", Readiness)
      expect(ready.status).toBe(503)
      expect(ready.body).toMatchObject({ ready: false, checks: { database: false, migrations: false } })

      const detailed = await get("/health/detailed", DetailedHealth)
      expect(detailed.status).toBe(503)
      expect(detailed.body.components.database.status).toBe("unhealthy")
      expect(detailed.body.components.database.message).toMatch(/^Database unreachable/)
      // No driver text (hosts, ports, users, errno names) in a public answer: the log has it.
      const database = detailed.body.components.database.message
      expect(database).toMatch(/^Database unreachable: (no answer within|see the gateway's log)/)
      expect(JSON.stringify(detailed.body)).not.toMatch(/ECONN|refused|terminat|127\.0\.0\.1|postgres|errno/i)

      const history = await get("/health/history", HealthHistory)
      const databaseChecks = history.body.history.filter((entry) => entry.name === "database")
      expect(databaseChecks.at(-1)).toMatchObject({ status: "unhealthy" })
    } finally {
      await proxy.restore()
    }
    await eventually(async () => {
      const ready = await get("/ready", Readiness)
      expect(ready.status).toBe(200)
      expect((await get("/health", Health)).body.status).toBe("healthy")
    })
  })

  it("is degraded but ready while Redis is down, and answers within bounds while it is frozen", async () => {
    await redis.kill()
    try {
      await eventually(async () => {
        const health = await get("/health", Health)
        expect(health.status).toBe(200)
        expect(health.body).toMatchObject({
          status: "degraded",
          components: { database: "healthy", redis: "unhealthy" },
          rate_limit_storage: "memory"
        })
      })
      const ready = await get("/ready", Readiness)
      expect(ready.status).toBe(200)
      expect(ready.body.checks).toMatchObject({ database: true, redis: false })
      const detailed = await get("/health/detailed", DetailedHealth)
      expect(detailed.body.status).toBe("degraded")
      expect(detailed.body.components.redis).toMatchObject({ status: "unhealthy", details: { connected: false } })
      expect(JSON.stringify(detailed.body)).not.toMatch(/ECONN|refused|127\.0\.0\.1|errno/i)
    } finally {
      await redis.start()
    }
    await eventually(async () => expect((await get("/health", Health)).body.components.redis).toBe("healthy"))

    redis.freeze()
    try {
      const health = await get("/health", Health)
      expect(health.ms).toBeLessThan(4_000)
      expect(health.body.components.redis).toBe("unhealthy")
      expect((await get("/ready", Readiness)).status).toBe(200)
    } finally {
      redis.thaw()
    }
  })
})
