/**
 * The rate limiter: per-user and global sliding-window limits, checked and consumed
 * together. With Redis they are shared by every gateway process; when Redis fails or
 * stalls, the in-process store takes over within the same request and a background probe
 * switches back once Redis answers again.
 */
import { Clock, Context, Duration, Effect, Layer, Ref, type Scope } from "effect"
import { GatewayConfig } from "../../Config.ts"
import { RedisConnection } from "../../storage/Redis.ts"
import { makeMemoryStore } from "./MemoryStore.ts"
import { type Limits, limitsFromConfig, type RefusalType, type Verdict } from "./Policy.ts"
import { makeRedisStore, type RedisStore, type RedisUnavailable } from "./RedisStore.ts"

/** Where the limits are kept right now. */
export type Storage = "redis" | "memory"

export interface RateLimiterShape {
  readonly limits: Limits
  /** Checks and consumes both limits for one request. Never fails and never waits on Redis beyond its command timeout. */
  readonly consume: (userId: string) => Effect.Effect<Verdict>
  readonly storage: Effect.Effect<Storage>
  readonly redisConfigured: boolean
  /** Pings Redis and switches storage to match; fails when Redis does not answer. */
  readonly probe: Effect.Effect<void, RedisUnavailable>
  /** Refused requests since start, by the limit that refused them (`rate_limit_requests_total{type}`). */
  readonly refusals: Effect.Effect<Readonly<Record<RefusalType, number>>>
}

export interface RateLimiterOptions {
  readonly limits: Limits
  /** The shared store; without one the limits live in this process only. */
  readonly redis: RedisStore | undefined
  /** How often Redis is pinged, to notice an outage without traffic and its end at all. */
  readonly probeInterval: Duration.Input
}

const nowMicros = Effect.map(Clock.currentTimeNanos, (nanos) => Number(nanos / 1000n))

export const makeRateLimiter = Effect.fnUntraced(function* (
  options: RateLimiterOptions
): Effect.fn.Return<RateLimiterShape, never, Scope.Scope> {
  const { limits, redis } = options
  const memory = makeMemoryStore(limits)
  const storage = yield* Ref.make<Storage>(redis === undefined ? "memory" : "redis")
  const refusals: Record<RefusalType, number> = { user_limit: 0, global_limit: 0 }

  const tally = (verdict: Verdict): Verdict => {
    if (verdict.outcome !== "admitted") refusals[verdict.outcome]++
    return verdict
  }

  const inMemory = (userId: string) => Effect.map(nowMicros, (now) => tally(memory.consumeAt(userId, now)))

  const switchTo = (next: Storage, reason: string) =>
    Effect.flatMap(Ref.getAndSet(storage, next), (previous) => {
      if (previous === next) return Effect.void
      return next === "memory"
        ? Effect.logWarning(
            `Rate limits fall back to this process's memory (Redis unavailable: ${reason}); they are per process until Redis answers again`
          )
        : Effect.logInfo("Redis answers again: rate limits are shared through Redis")
    })

  const probe: Effect.Effect<void, RedisUnavailable> =
    redis === undefined
      ? Effect.void
      : redis.ping.pipe(
          Effect.tapError((error) => switchTo("memory", error.message)),
          Effect.tap(() => switchTo("redis", "ping answered"))
        )

  const consume =
    redis === undefined
      ? inMemory
      : (userId: string) =>
          Effect.flatMap(Ref.get(storage), (current) =>
            current === "memory"
              ? inMemory(userId)
              : redis.consume(userId).pipe(
                  Effect.map(tally),
                  Effect.catch((error) => Effect.andThen(switchTo("memory", error.message), inMemory(userId)))
                )
          )

  if (redis !== undefined) {
    // At start-up, find out whether Redis answers before the first request does.
    yield* Effect.ignore(probe)
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(options.probeInterval), Effect.ignore(probe))))
  }
  // Forget idle users, as Redis key TTLs do.
  yield* Effect.forkScoped(
    Effect.forever(
      Effect.andThen(
        Effect.sleep(Duration.millis(limits.user.windowUs / 1000)),
        Effect.flatMap(nowMicros, (now) => Effect.sync(() => memory.sweep(now)))
      )
    )
  )

  return {
    limits,
    consume,
    storage: Ref.get(storage),
    redisConfigured: redis !== undefined,
    probe,
    refusals: Effect.sync(() => ({ ...refusals }))
  }
})

export class RateLimiter extends Context.Service<RateLimiter, RateLimiterShape>()("gateway/RateLimiter") {
  static readonly layer = Layer.effect(
    RateLimiter,
    Effect.gen(function* () {
      const config = yield* GatewayConfig
      const { client } = yield* RedisConnection
      const limits = limitsFromConfig(config.rateLimit)
      return yield* makeRateLimiter({
        limits,
        redis:
          client === undefined ? undefined : makeRedisStore(client, limits, { keyPrefix: config.rateLimit.keyPrefix }),
        probeInterval: Duration.seconds(1)
      })
    })
  )
}
