/**
 * The component checks behind the health endpoints. Each is bounded by `checkTimeout`, so a
 * stalled dependency makes a probe answer "unhealthy", never hang.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as SqlClient from "effect/sql/SqlClient"
import type { Redis } from "ioredis"
import type { ComponentCheck, ComponentStatus } from "../../domain/Health.ts"
import type { RateLimiterShape } from "../ratelimit/RateLimiter.ts"
import type { BreakerSnapshot } from "../resilience/CircuitBreakers.ts"
import type { RecentOutcomes } from "./UpstreamOutcomes.ts"

export const checkTimeout = Duration.seconds(2)

export type Check = Omit<ComponentCheck, "duration_ms">

/**
 * Runs a check within the timeout; a failure or a timeout becomes `onFailure`'s answer. The failure itself
 * (a driver's error text can name hosts, users, databases) goes to the log, never into a public answer.
 */
export const timed = <E>(
  name: string,
  check: Effect.Effect<Check, E>,
  onFailure: (error: E | "timeout") => Check
): Effect.Effect<ComponentCheck> =>
  Effect.gen(function* () {
    const start = yield* Clock.currentTimeNanos
    const result = yield* check.pipe(
      Effect.timeoutOrElse({ duration: checkTimeout, orElse: () => Effect.fail("timeout" as const) }),
      Effect.catch((error) =>
        Effect.as(Effect.logWarning(`Health check ${name} failed: ${errorMessage(error)}`), onFailure(error))
      )
    )
    const end = yield* Clock.currentTimeNanos
    return { ...result, duration_ms: Math.round(Number(end - start) / 10_000) / 100 }
  })

/** What a public answer says about a failed check: that it timed out, or that the log has the reason. */
export const publicReason = (error: unknown): string =>
  error === "timeout" ? `no answer within ${Duration.format(checkTimeout)}` : "see the gateway's log for the reason"

export const errorMessage = (error: unknown): string =>
  error === "timeout"
    ? `no answer within ${Duration.format(checkTimeout)}`
    : error instanceof Error
      ? error.message
      : String(error)

/** A query that also tells how many connections the gateways hold on this database. */
export const database = (sql: SqlClient.SqlClient, poolSize: number, withDetails: boolean) =>
  timed(
    "database",
    Effect.gen(function* () {
      if (!withDetails) {
        yield* sql`SELECT 1`
        return { status: "healthy" as const, message: "Database connection successful", details: {} }
      }
      const [row] = yield* sql<{ active: number; open: number }>`
        SELECT count(*) FILTER (WHERE state = 'active')::int AS active, count(*)::int AS open
        FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'llm-gateway'`
      return {
        status: "healthy" as const,
        message: "Database connection successful",
        details: {
          connection_pool_size: poolSize,
          active_connections: row?.active ?? 0,
          open_connections: row?.open ?? 0
        }
      }
    }),
    (error) => ({
      status: "unhealthy",
      message: `Database unreachable: ${publicReason(error)}`,
      details: { connection_pool_size: poolSize }
    })
  )

/** `used_memory_human` from INFO memory, as "2.5MB". */
const memoryUsage = (info: string): string | undefined => {
  const match = /^used_memory_human:(\S+)/m.exec(info)
  return match === null ? undefined : /[KMGT]$/.test(match[1]!) ? `${match[1]}B` : match[1]
}

/**
 * The limiter's PING (a failed ping also moves the limits to memory, so the two never
 * disagree) and, for the detailed view, the memory Redis uses.
 */
export const redis = (limiter: RateLimiterShape, client: Redis | undefined, withDetails: boolean) =>
  client === undefined
    ? Effect.succeed<ComponentCheck>({
        status: "healthy",
        message: "Redis not configured (REDIS_URL unset); rate limits are kept in memory",
        details: { connected: false, configured: false },
        duration_ms: 0
      })
    : timed(
        "redis",
        Effect.gen(function* () {
          yield* limiter.probe
          const info = withDetails
            ? yield* Effect.tryPromise(() => client.info("memory")).pipe(Effect.orElseSucceed(() => ""))
            : ""
          const memory = memoryUsage(info)
          return {
            status: "healthy" as const,
            message: "Redis connection successful",
            details: { connected: true, configured: true, ...(memory === undefined ? {} : { memory_usage: memory }) }
          }
        }),
        (error) => ({
          status: "unhealthy",
          message: `Redis unreachable: ${publicReason(error)}`,
          details: { connected: false, configured: true }
        })
      )

/** Recent attempts needed before their failure rate says anything. */
const minimumAttempts = 4

/** A model is down while its breaker is open, degraded while half-open or while half its recent attempts fail. */
export const modelStatus = (breaker: BreakerSnapshot, recent: RecentOutcomes): ComponentStatus =>
  breaker.state === "open"
    ? "unhealthy"
    : breaker.state === "half_open" || (recent.attempts >= minimumAttempts && recent.failures * 2 >= recent.attempts)
      ? "degraded"
      : "healthy"

/** Every model from its breaker and recent outcomes: no paid probe calls. */
export const llmServices = (
  breakers: ReadonlyArray<BreakerSnapshot>,
  recent: (model: string) => RecentOutcomes
): Check => {
  const details: Record<string, ComponentStatus> = {}
  const problems: Array<string> = []
  for (const breaker of breakers) {
    const outcomes = recent(breaker.model)
    const status = modelStatus(breaker, outcomes)
    details[breaker.model] = status
    if (breaker.state !== "closed") problems.push(`${breaker.model}: circuit breaker ${breaker.state}`)
    else if (status !== "healthy") {
      problems.push(`${breaker.model}: ${outcomes.failures} of the last ${outcomes.attempts} upstream attempts failed`)
    }
  }
  const statuses = Object.values(details)
  const status: ComponentStatus = statuses.every((s) => s === "healthy")
    ? "healthy"
    : statuses.every((s) => s === "unhealthy")
      ? "unhealthy"
      : "degraded"
  return {
    status,
    message: status === "healthy" ? "All LLM services operational" : problems.join("; "),
    details
  }
}
