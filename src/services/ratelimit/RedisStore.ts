/**
 * The shared store: the sliding-log policy of Policy.ts as one Lua script, so a request
 * costs one round trip (EVALSHA) and replicas sharing the Redis agree, on Redis's clock.
 */
import { Clock, Effect, Schema } from "effect"
import { createHash } from "node:crypto"
import type { Redis } from "ioredis"
import type { Limits, Outcome, Verdict } from "./Policy.ts"

/** Redis did not answer (down, frozen, timed out) or answered with an error. */
export class RedisUnavailable extends Schema.TaggedError<RedisUnavailable>()("RedisUnavailable", {
  message: Schema.String
}) {}

/**
 * KEYS: the user's log, the global log. Each is a sorted set of admitted requests scored
 * by their time in microseconds. ARGV: user limit, user window (µs), global limit, global
 * window (µs), and, from tests only, the time to use instead of TIME.
 *
 * Returns {outcome (0 admitted, 1 user limit, 2 global limit), now, user count, user reset,
 * global count, global reset}, as Policy.ts's Verdict describes.
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
-- Lua's own number-to-string keeps 14 digits; epoch microseconds have 16.
local function str(n) return string.format("%.0f", n) end

redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", str(now - userWindow))
redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", str(now - globalWindow))
local userCount = redis.call("ZCARD", KEYS[1])
local globalCount = redis.call("ZCARD", KEYS[2])
local outcome = 0
if userCount >= userLimit then
  outcome = 1
elseif globalCount >= globalLimit then
  outcome = 2
end

if outcome == 0 then
  local score = str(now)
  -- Requests can share a microsecond; their members must still differ.
  local member, n = score, 0
  while redis.call("ZSCORE", KEYS[1], member) or redis.call("ZSCORE", KEYS[2], member) do
    n = n + 1
    member = score .. "-" .. n
  end
  redis.call("ZADD", KEYS[1], score, member)
  redis.call("ZADD", KEYS[2], score, member)
  -- The newest entry leaves its window after one window; so may the key.
  redis.call("PEXPIRE", KEYS[1], math.ceil(userWindow / 1000))
  redis.call("PEXPIRE", KEYS[2], math.ceil(globalWindow / 1000))
  userCount = userCount + 1
  globalCount = globalCount + 1
end

local function resetAt(key, window)
  local oldest = redis.call("ZRANGE", key, 0, 0, "WITHSCORES")
  if oldest[2] then return tonumber(oldest[2]) + window end
  return now
end
return { outcome, now, userCount, resetAt(KEYS[1], userWindow), globalCount, resetAt(KEYS[2], globalWindow) }
`

const scriptSha = createHash("sha1").update(consumeScript).digest("hex")

const outcomes: ReadonlyArray<Outcome> = ["admitted", "user_limit", "global_limit"]

type Reply = readonly [number, number, number, number, number, number]

const isReply = (reply: unknown): reply is Reply =>
  Array.isArray(reply) && reply.length === 6 && reply.every((n) => typeof n === "number")

const isNoScript = (error: unknown) => error instanceof Error && error.message.startsWith("NOSCRIPT")

const unavailable = (cause: unknown) =>
  new RedisUnavailable({ message: cause instanceof Error ? cause.message : String(cause) })

export interface RedisStore {
  /** Checks and consumes both limits in one script call. */
  readonly consume: (userId: string) => Effect.Effect<Verdict, RedisUnavailable>
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

/** A client span per the database semantic conventions; the script's keys stay out of it. */
const redisSpan = {
  kind: "client",
  attributes: { "db.system.name": "redis", "db.operation.name": "EVALSHA" }
} as const

export const makeRedisStore = (client: Redis, limits: Limits, options: RedisStoreOptions): RedisStore => {
  const global = globalKey(options.keyPrefix)
  const args = [
    String(limits.user.limit),
    String(limits.user.windowUs),
    String(limits.global.limit),
    String(limits.global.windowUs)
  ] as const

  const evaluate = (user: string, nowUs: Array<string>): Promise<unknown> =>
    client
      .evalsha(scriptSha, 2, user, global, ...args, ...nowUs)
      // A restarted Redis has an empty script cache: EVAL loads the script again.
      .catch((error: unknown) =>
        isNoScript(error) ? client.eval(consumeScript, 2, user, global, ...args, ...nowUs) : Promise.reject(error)
      )

  const run = (userId: string, nowUs: Array<string>) =>
    Effect.tryPromise({ try: () => evaluate(userKey(options.keyPrefix, userId), nowUs), catch: unavailable }).pipe(
      Effect.withSpan("redis EVALSHA", redisSpan),
      Effect.flatMap((reply) =>
        isReply(reply)
          ? Effect.succeed<Verdict>({
              outcome: outcomes[reply[0]]!,
              nowUs: reply[1],
              userCount: reply[2],
              userResetUs: reply[3],
              globalCount: reply[4],
              globalResetUs: reply[5]
            })
          : Effect.fail(unavailable(`unexpected reply from the rate-limit script: ${JSON.stringify(reply)}`))
      )
    )

  const noTime: Array<string> = []
  const consume =
    options.clock === "effect"
      ? (userId: string) => Effect.flatMap(Clock.currentTimeNanos, (nanos) => run(userId, [String(nanos / 1000n)]))
      : (userId: string) => run(userId, noTime)

  const ping = Effect.tryPromise({ try: () => client.ping(), catch: unavailable }).pipe(Effect.asVoid)

  return { consume, ping }
}
