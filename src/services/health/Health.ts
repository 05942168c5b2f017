/**
 * Health checks of the parts the gateway depends on. Every check is bounded by a
 * timeout, so a probe never hangs on a stalled dependency.
 */
import { Clock, Context, DateTime, Duration, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { GatewayConfig } from "../../Config.ts"
import type {
  CircuitBreakers as CircuitBreakersBody,
  ComponentCheck,
  ComponentStatus,
  Health as HealthBody,
  Readiness
} from "../../domain/Health.ts"
import { latestAppliedMigration, latestMigrationId } from "../../storage/Migrations.ts"
import { RateLimiter } from "../ratelimit/RateLimiter.ts"
import { type BreakerSnapshot, CircuitBreakers } from "../resilience/CircuitBreakers.ts"
import { Lifecycle } from "./Lifecycle.ts"

const checkTimeout = Duration.seconds(2)

const timed = <E>(
  check: Effect.Effect<Omit<ComponentCheck, "duration_ms">, E>,
  onFailure: (error: E | "timeout") => Omit<ComponentCheck, "duration_ms">
): Effect.Effect<ComponentCheck> =>
  Effect.gen(function* () {
    const start = yield* Clock.currentTimeNanos
    const result = yield* check.pipe(
      Effect.timeoutOrElse({ duration: checkTimeout, orElse: () => Effect.fail("timeout" as const) }),
      Effect.catch((error) => Effect.succeed(onFailure(error)))
    )
    const end = yield* Clock.currentTimeNanos
    return { ...result, duration_ms: Math.round(Number(end - start) / 10_000) / 100 }
  })

const errorMessage = (error: unknown): string =>
  error === "timeout"
    ? `no answer within ${Duration.format(checkTimeout)}`
    : error instanceof Error
      ? error.message
      : String(error)

/** The LLM services are healthy when every breaker is closed, unhealthy when every one is open. */
const llmServicesStatus = (breakers: ReadonlyArray<BreakerSnapshot>): ComponentStatus =>
  breakers.every((breaker) => breaker.state === "closed")
    ? "healthy"
    : breakers.every((breaker) => breaker.state === "open")
      ? "unhealthy"
      : "degraded"

export class Health extends Context.Service<
  Health,
  {
    readonly database: Effect.Effect<ComponentCheck>
    readonly redis: Effect.Effect<ComponentCheck>
    readonly summary: Effect.Effect<HealthBody>
    readonly readiness: Effect.Effect<Readiness>
    readonly circuitBreakers: Effect.Effect<CircuitBreakersBody>
  }
>()("gateway/Health") {
  static readonly layer = Layer.effect(
    Health,
    Effect.gen(function* () {
      const config = yield* GatewayConfig
      const sql = yield* SqlClient.SqlClient
      const limiter = yield* RateLimiter
      const lifecycle = yield* Lifecycle
      const breakers = yield* CircuitBreakers
      const { retry, breaker } = config.resilience

      const database = timed(
        Effect.gen(function* () {
          yield* sql`SELECT 1`
          return { status: "healthy" as const, message: "Database connection successful", details: {} }
        }),
        (error) => ({ status: "unhealthy", message: `Database unreachable: ${errorMessage(error)}`, details: {} })
      )

      // The limiter's probe: a failed ping also moves the limits to memory, so the two never disagree.
      const redis = !limiter.redisConfigured
        ? Effect.succeed<ComponentCheck>({
            status: "healthy",
            message: "Redis not configured (REDIS_URL unset); rate limits are kept in memory",
            details: { connected: false, configured: false },
            duration_ms: 0
          })
        : timed(
            limiter.probe.pipe(
              Effect.as({
                status: "healthy" as const,
                message: "Redis connection successful",
                details: { connected: true, configured: true }
              })
            ),
            (error) => ({
              status: "unhealthy",
              message: `Redis unreachable: ${errorMessage(error)}`,
              details: { connected: false, configured: true }
            })
          )

      const now = Effect.map(DateTime.now, DateTime.formatIso)

      const summary = Effect.gen(function* () {
        const [db, cache] = yield* Effect.all([database, redis], { concurrency: 2 })
        const llmServices = llmServicesStatus(yield* breakers.snapshot)
        const status: ComponentStatus =
          db.status === "unhealthy"
            ? "unhealthy"
            : cache.status !== "healthy" || llmServices !== "healthy"
              ? "degraded"
              : "healthy"
        return {
          status,
          timestamp: yield* now,
          version: config.server.version,
          environment: config.server.environment,
          components: { database: db.status, redis: cache.status, llm_services: llmServices },
          rate_limit_storage: yield* limiter.storage,
          retry_enabled: retry.enabled,
          circuit_breaker_enabled: breaker.enabled
        }
      })

      const migrationsApplied = latestAppliedMigration.pipe(
        Effect.map((applied) => applied >= latestMigrationId),
        Effect.timeoutOrElse({ duration: checkTimeout, orElse: () => Effect.succeed(false) }),
        Effect.catch(() => Effect.succeed(false)),
        Effect.provideService(SqlClient.SqlClient, sql)
      )

      const readiness = Effect.gen(function* () {
        const [db, cache, migrated, draining] = yield* Effect.all(
          [database, redis, migrationsApplied, lifecycle.draining],
          { concurrency: 4 }
        )
        const checks = {
          database: db.status === "healthy",
          migrations: migrated,
          // Informational: the rate limiter falls back to memory, so Redis does not decide readiness.
          redis: cache.status === "healthy",
          llm_services: true,
          accepting_traffic: !draining
        }
        return {
          ready: checks.database && checks.migrations && checks.accepting_traffic,
          timestamp: yield* now,
          checks
        }
      })

      const circuitBreakers = Effect.map(breakers.snapshot, (snapshot): CircuitBreakersBody => ({
        circuit_breakers: Object.fromEntries(
          snapshot.map((model) => [
            model.model,
            {
              state: model.state,
              failure_count: model.failureCount,
              last_failure_time: model.lastFailureAt === undefined ? null : new Date(model.lastFailureAt).toISOString(),
              failure_threshold: breaker.failureThreshold,
              recovery_timeout: breaker.recoveryTimeoutMs / 1000
            }
          ])
        ),
        retry_config: {
          enabled: retry.enabled,
          max_attempts: retry.maxAttempts,
          base_delay: retry.baseDelayMs / 1000,
          max_delay: retry.maxDelayMs / 1000,
          exponential_base: retry.exponentialBase,
          jitter: retry.jitter
        },
        circuit_breaker_config: {
          enabled: breaker.enabled,
          failure_threshold: breaker.failureThreshold,
          recovery_timeout: breaker.recoveryTimeoutMs / 1000
        }
      }))

      return Health.of({ database, redis, summary, readiness, circuitBreakers })
    })
  )
}
