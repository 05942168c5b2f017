/**
 * The shared store: the sliding-log policy of Policy.ts as one Lua script, so a request
 * costs one round trip (EVALSHA) and replicas sharing the Redis agree, on Redis's clock.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import type { Redis } from "ioredis"
import type { Limits, Outcome, Verdict } from "./Policy.ts"

/** Redis did not answer (down, frozen, timed out) or answered with an error. */
export class RedisUnavailable extends Schema.TaggedError<RedisUnavailable>()("RedisUnavailable", {
  message: Schema.String
}) {}

/**
 * KEYS: the user's log and, for a chat request, the global log (a read passes its reads log
 * only and is never counted globally). Each is a sorted set of admitted requests scored by
 * their time in microseconds. ARGV: user limit, user window (µs), global limit, global window
 * (µs), and, from tests only, the time to use instead of TIME.
 *
 * Returns {outcome (0 admitted, 1 user limit, 2 global limit), now, user count, user reset,
 * global count, global reset} as Policy.ts's Verdict describes, and for an admitted chat
 * request its member in the global log (for `returnGlobal`).
 */
export const consumeScript = `
local now
if ARGV[5] then
  now = tonumber(ARGV[5])
else
  local time = redis.call("TIME")
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end
local userLimit, userWindow = tonumber(ARGV[1]), tonumber(ARGV[2])
local globalLimit, globalWindow = tonumber(ARGV[3]), tonumber(ARGV[4])
local counted = #KEYS == 2
-- Lua's own number-to-string keeps 14 digits; epoch microseconds have 16.
local function str(n) return string.format("%.0f", n) end

redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", str(now - userWindow))
local userCount = redis.call("ZCARD", KEYS[1])
local globalCount = 0
if counted then
  redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", str(now - globalWindow))
  globalCount = redis.call("ZCARD", KEYS[2])
end
local outcome = 0
if userCount >= userLimit then
  outcome = 1
elseif counted and globalCount >= globalLimit then
  outcome = 2
end

local member = false
if outcome == 0 then
  local score = str(now)
  -- Requests can share a microsecond; their members must still differ.
  local n = 0
  member = score
  while redis.call("ZSCORE", KEYS[1], member) or (counted and redis.call("ZSCORE", KEYS[2], member)) do
    n = n + 1
    member = score .. "-" .. n
  end
  redis.call("ZADD", KEYS[1], score, member)
  -- The newest entry leaves its window after one window; so may the key.
  redis.call("PEXPIRE", KEYS[1], math.ceil(userWindow / 1000))
  userCount = userCount + 1
  if counted then
    redis.call("ZADD", KEYS[2], score, member)
    redis.call("PEXPIRE", KEYS[2], math.ceil(globalWindow / 1000))
    globalCount = globalCount + 1
  else
    member = false
  end
end

local function resetAt(key, window)
  local oldest = redis.call("ZRANGE", key, 0, 0, "WITHSCORES")
  if oldest[2] then return tonumber(oldest[2]) + window end
  return now
end
local globalReset = now
if counted then globalReset = resetAt(KEYS[2], globalWindow) end
return { outcome, now, userCount, resetAt(KEYS[1], userWindow), globalCount, globalReset, member }
`

const scriptSha = createHash("sha1").update(consumeScript).digest("hex")

const outcomes: ReadonlyArray<Outcome> = ["admitted", "user_limit", "global_limit"]

/** Six numbers, then the global member of an admitted chat request (Lua's `false` arrives as null). */
type Reply = readonly [number, number, number, number, number, number, string | null]

const isReply = (reply: unknown): reply is Reply =>
  Array.isArray(reply) &&
  reply.length === 7 &&
  (reply[6] === null || typeof reply[6] === "string") &&
  reply.slice(0, 6).every((n) => typeof n === "number")

const isNoScript = (error: unknown) => error instanceof Error && error.message.startsWith("NOSCRIPT")

const unavailable = (cause: unknown) =>
  new RedisUnavailable({ message: cause instanceof Error ? cause.message : String(cause) })

export interface RedisStore {
  /** Checks and consumes both limits of a chat request in one script call. */
  readonly consume: (userId: string) => Effect.Effect<Verdict, RedisUnavailable>
  /** Checks and consumes the user's reads limit in one script call. */
  readonly consumeRead: (userId: string) => Effect.Effect<Verdict, RedisUnavailable>
  /** Gives back an admitted chat request's global entry: one ZREM. */
  readonly returnGlobal: (entry: string) => Effect.Effect<void, RedisUnavailable>
  readonly ping: Effect.Effect<void, RedisUnavailable>
}

export interface RedisStoreOptions {
  readonly keyPrefix: string
  /**
   * "redis" (production): the script reads Redis's TIME, so replicas share one clock.
   * "effect" (tests): the script is given the Effect Clock's time, so TestClock drives it.
   */
  readonly clock?: "redis" | "effect"
}

export const userKey = (keyPrefix: string, userId: string) => `${keyPrefix}user:${userId}`
export const globalKey = (keyPrefix: string) => `${keyPrefix}global`
export const readsKey = (keyPrefix: string, userId: string) => `${keyPrefix}reads:${userId}`

/** A client span per the database semantic conventions; the script's keys stay out of it. */
const redisSpan = {
  kind: "client",
  attributes: { "db.system.name": "redis", "db.operation.name": "EVALSHA" }
} as const

export const makeRedisStore = (client: Redis, limits: Limits, options: RedisStoreOptions): RedisStore => {
  const global = globalKey(options.keyPrefix)
  const chatArgs = [
    String(limits.user.limit),
    String(limits.user.windowUs),
    String(limits.global.limit),
    String(limits.global.windowUs)
  ] as const
  const readArgs = [String(limits.reads.limit), String(limits.reads.windowUs), "0", "0"] as const

  const evaluate = (keys: ReadonlyArray<string>, args: ReadonlyArray<string>): Promise<unknown> =>
    client
      .evalsha(scriptSha, keys.length, ...keys, ...args)
      // A restarted Redis has an empty script cache: EVAL loads the script again.
      .catch((error: unknown) =>
        isNoScript(error) ? client.eval(consumeScript, keys.length, ...keys, ...args) : Promise.reject(error)
      )

  const run = (keys: ReadonlyArray<string>, args: ReadonlyArray<string>) =>
    Effect.tryPromise({ try: () => evaluate(keys, args), catch: unavailable }).pipe(
      Effect.withSpan("redis EVALSHA", redisSpan),
      Effect.flatMap((reply) =>
        isReply(reply)
          ? Effect.succeed<Verdict>({
              outcome: outcomes[reply[0]]!,
              nowUs: reply[1],
              userCount: reply[2],
              userResetUs: reply[3],
              globalCount: reply[4],
              globalResetUs: reply[5],
              ...(reply[6] !== null && { globalEntry: reply[6] })
            })
          : Effect.fail(unavailable(`unexpected reply from the rate-limit script: ${JSON.stringify(reply)}`))
      )
    )

  const timed =
    options.clock === "effect"
      ? (keys: ReadonlyArray<string>, args: ReadonlyArray<string>) =>
          Effect.flatMap(Clock.currentTimeNanos, (nanos) => run(keys, [...args, String(nanos / 1000n)]))
      : run

  const consume = (userId: string) => timed([userKey(options.keyPrefix, userId), global], chatArgs)
  const consumeRead = (userId: string) => timed([readsKey(options.keyPrefix, userId)], readArgs)

  const returnGlobal = (entry: string) =>
    Effect.tryPromise({ try: () => client.zrem(global, entry), catch: unavailable }).pipe(
      Effect.withSpan("redis ZREM", {
        kind: "client",
        attributes: { "db.system.name": "redis", "db.operation.name": "ZREM" }
      }),
      Effect.asVoid
    )

  const ping = Effect.tryPromise({ try: () => client.ping(), catch: unavailable }).pipe(Effect.asVoid)

  return { consume, consumeRead, returnGlobal, ping }
}
