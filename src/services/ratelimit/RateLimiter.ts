/**
 * The rate limiter: per-user and global sliding-window limits, checked and consumed
 * together. With Redis they are shared by every gateway process; when Redis fails or
 * stalls, the in-process store takes over within the same request and a background probe
 * switches back once Redis answers again.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import { GatewayConfig } from "../../Config.ts"
import { RedisConnection } from "../../storage/Redis.ts"
import { makeMemoryStore } from "./MemoryStore.ts"
import { type Limits, limitsFromConfig, type RefusalType, type Verdict } from "./Policy.ts"
import { makeRedisStore, type RedisStore, type RedisUnavailable } from "./RedisStore.ts"
import { traced } from "../telemetry/Spans.ts"

/** Where the limits are kept right now. */
export type Storage = "redis" | "memory"

export interface RateLimiterShape {
  readonly limits: Limits
  /**
   * Checks and consumes both limits for one chat request, and its token upper bound when the token limit is on.
   * Never fails and never waits on Redis beyond its command timeout.
   */
  readonly consume: (userId: string, tokens?: number) => Effect.Effect<Verdict>
  /** Checks and consumes the user's reads limit (/v1/models, /billing/*); never the global one. */
  readonly consumeRead: (userId: string) => Effect.Effect<Verdict>
  /**
   * Gives back the global entry of an admitted chat request that never reached an upstream, in the
   * store that admitted it; false when it could not. Never fails: when Redis does not answer, the entry
   * stays (the global limit then over-counts by one, the safe side) and the outage is noticed as usual.
   */
  readonly returnGlobal: (verdict: Verdict) => Effect.Effect<boolean>
  /** `returnGlobal`, and the request's tokens given back too, in the same call. */
  readonly giveBack: (userId: string, verdict: Verdict) => Effect.Effect<boolean>
  /**
   * Corrects an admitted request's tokens to what it used, in the store that admitted it, in the
   * background: returns at once and never fails (when Redis does not answer, the bound stays counted
   * until it leaves the window, the safe side).
   */
  readonly settleTokens: (userId: string, verdict: Verdict, used: number) => Effect.Effect<void>
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
  const refusals: Record<RefusalType, number> = { user_limit: 0, global_limit: 0, read_limit: 0, token_limit: 0 }
  // Corrections run here, off the request that settles, and end with the limiter.
  const background = yield* Effect.scope

  const tally = (verdict: Verdict): Verdict => {
    if (verdict.outcome !== "admitted") refusals[verdict.outcome]++
    return verdict
  }
  const tallyRead = (verdict: Verdict): Verdict => {
    if (verdict.outcome !== "admitted") refusals.read_limit++
    return verdict
  }

  /** Entries of the in-process global log are marked, so that one is given back where it was taken. */
  const memoryEntry = "memory:"
  const inMemory = (userId: string, tokens?: number) =>
    Effect.map(nowMicros, (now) => {
      const verdict = tally(memory.consumeAt(userId, now, tokens))
      return verdict.globalEntry === undefined
        ? verdict
        : {
            ...verdict,
            globalEntry: memoryEntry + verdict.globalEntry,
            ...(verdict.tokens?.entry !== undefined && {
              tokens: { ...verdict.tokens, entry: memoryEntry + verdict.tokens.entry }
            })
          }
    })
  const readInMemory = (userId: string) => Effect.map(nowMicros, (now) => tallyRead(memory.consumeReadAt(userId, now)))

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

  /** Redis while it answers; the in-process store when it is down or fails this request. */
  const decide = (
    span: string,
    viaRedis: (store: RedisStore, userId: string, tokens?: number) => Effect.Effect<Verdict, RedisUnavailable>,
    locally: (userId: string, tokens?: number) => Effect.Effect<Verdict>,
    count: (verdict: Verdict) => Verdict
  ) =>
    Effect.fnUntraced(function* (userId: string, tokens?: number) {
      if (redis === undefined || (yield* Ref.get(storage)) === "memory") return yield* locally(userId, tokens)
      return yield* viaRedis(redis, userId, tokens).pipe(
        Effect.map(count),
        Effect.catch((error) => Effect.andThen(switchTo("memory", error.message), locally(userId, tokens)))
      )
    }, traced(span))

  const consume = decide(
    "RateLimiter.consume",
    (store, userId, tokens) => store.consume(userId, tokens),
    inMemory,
    tally
  )
  const consumeRead = decide(
    "RateLimiter.consumeRead",
    (store, userId) => store.consumeRead(userId),
    readInMemory,
    tallyRead
  )

  const returnGlobal = Effect.fnUntraced(function* (verdict: Verdict) {
    const entry = verdict.globalEntry
    if (entry === undefined) return false
    if (entry.startsWith(memoryEntry)) {
      memory.returnGlobal(entry.slice(memoryEntry.length))
      return true
    }
    if (redis === undefined) return false
    return yield* Effect.match(redis.returnGlobal(entry), { onFailure: () => false, onSuccess: () => true })
  }, traced("RateLimiter.returnGlobal"))

  /** Sets an admitted request's tokens where they were counted; with `andGlobal`, gives its global entry back too. */
  const correct = Effect.fnUntraced(function* (userId: string, verdict: Verdict, used: number, andGlobal: boolean) {
    const entry = verdict.tokens?.entry
    if (entry === undefined) return andGlobal ? yield* returnGlobal(verdict) : false
    if (entry.startsWith(memoryEntry)) {
      memory.correctTokens(userId, entry.slice(memoryEntry.length), used)
      return andGlobal ? yield* returnGlobal(verdict) : true
    }
    if (redis === undefined) return false
    const alsoGlobal = andGlobal && verdict.globalEntry !== undefined
    return yield* Effect.match(redis.correctTokens(userId, entry, used, alsoGlobal), {
      onFailure: () => false,
      onSuccess: () => true
    })
  })

  const giveBackSpan = traced("RateLimiter.giveBack")
  const giveBack = (userId: string, verdict: Verdict) => giveBackSpan(correct(userId, verdict, 0, true))

  const settleTokensSpan = traced("RateLimiter.settleTokens")
  const settleTokens = (userId: string, verdict: Verdict, used: number): Effect.Effect<void> => {
    const entry = verdict.tokens?.entry
    if (entry === undefined || verdict.tokens?.requested === used) return Effect.void
    const correction = settleTokensSpan(correct(userId, verdict, used, false))
    // In memory it is immediate; a Redis round trip must not delay the answer.
    return entry.startsWith(memoryEntry)
      ? Effect.asVoid(correction)
      : Effect.asVoid(Effect.forkIn(correction, background))
  }

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
    consumeRead,
    returnGlobal,
    giveBack,
    settleTokens,
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
  ).pipe(Layer.provide(RedisConnection.layer))
}
