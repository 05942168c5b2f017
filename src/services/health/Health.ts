/**
 * The health family: every check bounded by a timeout (a probe never hangs on a stalled
 * dependency), shared by concurrent callers and reused for HEALTH_CACHE_SECONDS, remembered in a
 * bounded history. Public answers never carry a dependency's error text; the log does.
 */
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as SqlClient from "effect/sql/SqlClient"
import { GatewayConfig } from "../../Config.ts"
import type {
  CircuitBreakers as CircuitBreakersBody,
  ComponentCheck,
  ComponentStatus,
  DetailedHealth,
  Health as HealthBody,
  HealthHistory as HistoryBody,
  Monitoring,
  Readiness,
  SystemHealth
} from "../../domain/Health.ts"
import * as Database from "../../storage/Database.ts"
import { latestAppliedMigration, latestMigrationId } from "../../storage/Migrations.ts"
import { RedisConnection } from "../../storage/Redis.ts"
import { RateLimiter } from "../ratelimit/RateLimiter.ts"
import { CircuitBreakers } from "../resilience/CircuitBreakers.ts"
import { Langfuse } from "../telemetry/Langfuse.ts"
import * as Checks from "./Checks.ts"
import { HealthHistory } from "./HealthHistory.ts"
import { Lifecycle } from "./Lifecycle.ts"
import { makeResourceReader, type Resources } from "./SystemResources.ts"
import { UpstreamOutcomes } from "./UpstreamOutcomes.ts"

/** Resource use at which the machine is degraded, then unhealthy (percent). */
const resourceLimits = { degraded: 85, unhealthy: 95 }

const noResources: Resources = {
  cpu_usage_percent: 0,
  memory_usage_percent: 0,
  disk_usage_percent: 0,
  network_connections: 0
}

/** The machine is as healthy as its most used resource. */
const resourcesCheck = (resources: Resources): Checks.Check => {
  const usage = [
    ["CPU", resources.cpu_usage_percent],
    ["memory", resources.memory_usage_percent],
    ["disk", resources.disk_usage_percent]
  ] as const
  const [name, worst] = usage.reduce((a, b) => (b[1] > a[1] ? b : a))
  const status: ComponentStatus =
    worst >= resourceLimits.unhealthy ? "unhealthy" : worst >= resourceLimits.degraded ? "degraded" : "healthy"
  return {
    status,
    message: status === "healthy" ? "System resources are normal" : `High ${name} usage: ${worst}%`,
    details: { ...resources }
  }
}

/** The database decides; anything else only degrades. */
const overall = (database: ComponentStatus, others: ReadonlyArray<ComponentStatus>): ComponentStatus =>
  database === "unhealthy" ? "unhealthy" : others.every((s) => s === "healthy") ? "healthy" : "degraded"

export class Health extends Context.Service<
  Health,
  {
    readonly summary: Effect.Effect<HealthBody>
    readonly detailed: Effect.Effect<DetailedHealth>
    readonly readiness: Effect.Effect<Readiness>
    readonly circuitBreakers: Effect.Effect<CircuitBreakersBody>
    readonly monitoring: Effect.Effect<Monitoring>
    readonly system: Effect.Effect<SystemHealth>
    readonly history: Effect.Effect<HistoryBody>
  }
>()("gateway/Health") {
  static readonly layer = Layer.effect(
    Health,
    Effect.gen(function* () {
      const config = yield* GatewayConfig
      const sql = yield* SqlClient.SqlClient
      const limiter = yield* RateLimiter
      const { client: redisClient } = yield* RedisConnection
      const lifecycle = yield* Lifecycle
      const breakers = yield* CircuitBreakers
      const outcomes = yield* UpstreamOutcomes
      const langfuse = yield* Langfuse
      const { retry, breaker } = config.resilience
      const history = new HealthHistory()
      const readResources = makeResourceReader(process.cwd())

      const now = Effect.map(DateTime.now, DateTime.formatIso)

      /** Runs a check and remembers it. */
      const remembered = (name: string, check: Effect.Effect<ComponentCheck>) =>
        Effect.flatMap(Effect.all([check, now]), ([result, timestamp]) =>
          Effect.sync(() => {
            history.add(name, result, timestamp)
            return result
          })
        )

      /**
       * A check that touches a dependency runs at most once per HEALTH_CACHE_SECONDS, and callers who arrive while
       * it runs share it: the health endpoints are public, and must not become a way to load the database.
       */
      const shared = <A>(check: Effect.Effect<A>) => Effect.cachedWithTTL(check, config.server.healthCache)
      const databaseChecks = {
        brief: yield* shared(remembered("database", Checks.database(sql, Database.poolSize(config), false))),
        detailed: yield* shared(remembered("database", Checks.database(sql, Database.poolSize(config), true)))
      }
      const redisChecks = {
        brief: yield* shared(remembered("redis", Checks.redis(limiter, redisClient, false))),
        detailed: yield* shared(remembered("redis", Checks.redis(limiter, redisClient, true)))
      }
      const database = (withDetails: boolean) => (withDetails ? databaseChecks.detailed : databaseChecks.brief)
      const redis = (withDetails: boolean) => (withDetails ? redisChecks.detailed : redisChecks.brief)
      // In memory and cheap, but shared too: the history stays a record of checks, not of callers.
      const llmServices = yield* shared(
        remembered(
          "llm_services",
          Checks.timed(
            "llm_services",
            Effect.map(breakers.snapshot, (snapshot) => Checks.llmServices(snapshot, outcomes.recent)),
            () => ({
              status: "degraded",
              message: "The circuit breakers could not be read",
              details: {}
            })
          )
        )
      )

      const summary = Effect.gen(function* () {
        const [db, cache, llm] = yield* Effect.all([database(false), redis(false), llmServices], { concurrency: 3 })
        return {
          status: overall(db.status, [cache.status, llm.status]),
          timestamp: yield* now,
          version: config.server.version,
          environment: config.server.environment,
          components: { database: db.status, redis: cache.status, llm_services: llm.status },
          rate_limit_storage: yield* limiter.storage,
          retry_enabled: retry.enabled,
          circuit_breaker_enabled: breaker.enabled
        }
      })

      const detailed = Effect.gen(function* () {
        const [db, cache, llm] = yield* Effect.all([database(true), redis(true), llmServices], { concurrency: 3 })
        return {
          status: overall(db.status, [cache.status, llm.status]),
          timestamp: yield* now,
          components: { database: db, redis: cache, llm_services: llm }
        }
      })

      const migrationsApplied = yield* shared(
        latestAppliedMigration.pipe(
          Effect.map((applied) => applied >= latestMigrationId),
          Effect.timeoutOrElse({ duration: Checks.checkTimeout, orElse: () => Effect.succeed(false) }),
          Effect.catch(() => Effect.succeed(false)),
          Effect.provideService(SqlClient.SqlClient, sql)
        )
      )

      const readiness = Effect.gen(function* () {
        const [db, cache, migrated, draining] = yield* Effect.all(
          [database(false), redis(false), migrationsApplied, lifecycle.draining],
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
              recovery_timeout: Duration.toSeconds(breaker.recoveryTimeout)
            }
          ])
        ),
        retry_config: {
          enabled: retry.enabled,
          max_attempts: retry.maxAttempts,
          base_delay: Duration.toSeconds(retry.baseDelay),
          max_delay: Duration.toSeconds(retry.maxDelay),
          exponential_base: retry.exponentialBase,
          jitter: retry.jitter
        },
        circuit_breaker_config: {
          enabled: breaker.enabled,
          failure_threshold: breaker.failureThreshold,
          recovery_timeout: Duration.toSeconds(breaker.recoveryTimeout)
        }
      }))

      const monitoring = Effect.map(langfuse.status, (langfuseStatus) => ({
        langfuse: {
          status: langfuseStatus,
          enabled: langfuse.host !== undefined,
          ...(langfuse.host === undefined ? {} : { host: langfuse.host })
        },
        prometheus: { status: "healthy" as const, enabled: true },
        sentry: { status: "healthy" as const, enabled: config.observability.sentryDsn !== undefined }
      }))

      const systemCheck = yield* shared(
        remembered(
          "system",
          Checks.timed("system", Effect.map(readResources, resourcesCheck), (error) => ({
            status: "degraded",
            message: `System resources could not be read: ${Checks.publicReason(error)}`,
            details: {}
          }))
        )
      )
      const system = Effect.gen(function* () {
        const check = yield* systemCheck
        return {
          status: check.status,
          message: check.message,
          details: { ...noResources, ...check.details },
          timestamp: yield* now,
          duration_ms: check.duration_ms
        }
      })

      return Health.of({
        summary,
        detailed,
        readiness,
        circuitBreakers,
        monitoring,
        system,
        history: Effect.sync(() => history.body())
      })
    })
  ).pipe(
    Layer.provide([
      Database.layer,
      RedisConnection.layer,
      RateLimiter.layer,
      Lifecycle.layer,
      CircuitBreakers.layer,
      UpstreamOutcomes.layer,
      Langfuse.layer
    ])
  )
}
