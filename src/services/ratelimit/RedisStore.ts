/**
 * The shared store: the sliding-log policy of Policy.ts as one Lua script, so a request
 * costs one round trip (EVALSHA) and replicas sharing the Redis agree, on Redis's clock.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import type { Redis } from "ioredis"
import type { Limits, Outcome, TokenVerdict, Verdict } from "./Policy.ts"
import { traced } from "../telemetry/Spans.ts"

/** Redis did not answer (down, frozen, timed out) or answered with an error. */
export class RedisUnavailable extends Schema.TaggedError<RedisUnavailable>()("RedisUnavailable", {
  message: Schema.String
}) {}

/**
 * KEYS: the user's log and, for a chat request, the global log (a read passes its reads log
 * only and is never counted globally), and, when the token limit is on, the user's token hash.
 * Each log is a sorted set of admitted requests scored by their time in microseconds. The token
 * hash maps an admitted request's member (in the user's log: same instant, same window) to the
 * tokens it holds, and `sum` to their total; entries leave it as their members leave the user's
 * log. ARGV: user limit, user window (µs), global limit, global window (µs), token limit, the
 * request's tokens, and, from tests only, the time to use instead of TIME.
 *
 * Returns {outcome (0 admitted, 1 user limit, 2 global limit, 3 token limit), now, user count,
 * user reset, global count, global reset, member, token count, token reset} as Policy.ts's
 * Verdict describes: member is the admitted chat request's member in the global log (for
 * `returnGlobal`) and in the token hash (for `correctTokens`); the token fields are 0 when the
 * limit is off.
 */
export const consumeScript = `
local now
if ARGV[7] then
  now = tonumber(ARGV[7])
else
  local time = redis.call("TIME")
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end
local userLimit, userWindow = tonumber(ARGV[1]), tonumber(ARGV[2])
local globalLimit, globalWindow = tonumber(ARGV[3]), tonumber(ARGV[4])
local tokenLimit, tokens = tonumber(ARGV[5]), tonumber(ARGV[6])
local counted = #KEYS >= 2
local tokensOn = #KEYS == 3
-- Lua's own number-to-string keeps 14 digits; epoch microseconds have 16.
local function str(n) return string.format("%.0f", n) end

local cutoff = str(now - userWindow)
local tokenSum = 0
if tokensOn then
  -- The tokens of requests leaving the user's window leave with them.
  local leaving = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", cutoff)
  local freed = 0
  for _, gone in ipairs(leaving) do
    local held = redis.call("HGET", KEYS[3], gone)
    if held then
      freed = freed + tonumber(held)
      redis.call("HDEL", KEYS[3], gone)
    end
  end
  if freed ~= 0 then redis.call("HINCRBY", KEYS[3], "sum", -freed) end
  tokenSum = tonumber(redis.call("HGET", KEYS[3], "sum") or "0")
end
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", cutoff)
local userCount = redis.call("ZCARD", KEYS[1])
local globalCount = 0
if counted then
  redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", str(now - globalWindow))
  globalCount = redis.call("ZCARD", KEYS[2])
end
local outcome = 0
if userCount >= userLimit then
  outcome = 1
elseif tokensOn and tokens > 0 and tokenSum + tokens > tokenLimit then
  outcome = 3
elseif counted and globalCount >= globalLimit then
  outcome = 2
end

local member = false
local tokenEntry = false
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
  if tokensOn and tokens > 0 then
    redis.call("HSET", KEYS[3], member, tokens)
    redis.call("HINCRBY", KEYS[3], "sum", tokens)
    redis.call("PEXPIRE", KEYS[3], math.ceil(userWindow / 1000))
    tokenSum = tokenSum + tokens
    tokenEntry = true
  end
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
-- When the refused request would fit (enough tokens have left the window), else when the oldest tokens leave.
local tokenReset = now
if tokensOn then
  local needed = 0
  if not tokenEntry then needed = tokens end
  local fits = tokenSum + needed <= tokenLimit
  local freed = 0
  -- Oldest first, a page at a time: admitted requests nearly always stop at the first entry.
  local start, found = 0, false
  repeat
    local entries = redis.call("ZRANGE", KEYS[1], start, start + 31, "WITHSCORES")
    for i = 1, #entries, 2 do
      local held = tonumber(redis.call("HGET", KEYS[3], entries[i]) or "0")
      if held ~= 0 then
        freed = freed + held
        if fits or tokenSum - freed + needed <= tokenLimit then
          tokenReset = tonumber(entries[i + 1]) + userWindow
          found = true
          break
        end
      end
    end
    start = start + 32
  until found or #entries < 64
end
local globalReset = now
if counted then globalReset = resetAt(KEYS[2], globalWindow) end
return { outcome, now, userCount, resetAt(KEYS[1], userWindow), globalCount, globalReset, member, tokenSum, tokenReset }
`

/**
 * Sets an admitted request's tokens: KEYS the user's token hash and, to give the request's global
 * entry back in the same call, the global log; ARGV the request's member and its tokens. An entry
 * that has left the window (its member gone from the hash) is not written again.
 */
export const correctScript = `
local held = redis.call("HGET", KEYS[1], ARGV[1])
if held then
  local tokens = tonumber(ARGV[2])
  if tokens == 0 then
    redis.call("HDEL", KEYS[1], ARGV[1])
  else
    redis.call("HSET", KEYS[1], ARGV[1], tokens)
  end
  redis.call("HINCRBY", KEYS[1], "sum", tokens - tonumber(held))
end
if KEYS[2] then redis.call("ZREM", KEYS[2], ARGV[1]) end
return 0
`

const sha1 = (script: string) => createHash("sha1").update(script).digest("hex")
const scriptSha = sha1(consumeScript)
const correctSha = sha1(correctScript)

const outcomes: ReadonlyArray<Outcome> = ["admitted", "user_limit", "global_limit", "token_limit"]

/** Six numbers, the global member of an admitted chat request (Lua's `false` arrives as null), two numbers. */
type Reply = readonly [number, number, number, number, number, number, string | null, number, number]

const isReply = (reply: unknown): reply is Reply =>
  Array.isArray(reply) &&
  reply.length === 9 &&
  (reply[6] === null || typeof reply[6] === "string") &&
  [...reply.slice(0, 6), ...reply.slice(7)].every((n) => typeof n === "number")

const isNoScript = (error: unknown) => error instanceof Error && error.message.startsWith("NOSCRIPT")

const unavailable = (cause: unknown) =>
  new RedisUnavailable({ message: cause instanceof Error ? cause.message : String(cause) })

export interface RedisStore {
  /** Checks and consumes both limits of a chat request, and its `tokens` when the token limit is on, in one script call. */
  readonly consume: (userId: string, tokens?: number) => Effect.Effect<Verdict, RedisUnavailable>
  /**
   * Sets an admitted request's tokens (`TokenVerdict.entry`) to `tokens`, and when `returnGlobal` gives its
   * global entry back too, in one script call.
   */
  readonly correctTokens: (
    userId: string,
    entry: string,
    tokens: number,
    returnGlobal: boolean
  ) => Effect.Effect<void, RedisUnavailable>
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
export const tokensKey = (keyPrefix: string, userId: string) => `${keyPrefix}tokens:${userId}`

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
  const tokenLimit = String(limits.tokens?.limit ?? 0)
  const readArgs = [String(limits.reads.limit), String(limits.reads.windowUs), "0", "0", "0", "0"] as const

  const evaluate = (script: string, sha: string, keys: ReadonlyArray<string>, args: ReadonlyArray<string>) =>
    client
      .evalsha(sha, keys.length, ...keys, ...args)
      // A restarted Redis has an empty script cache: EVAL loads the script again.
      .catch((error: unknown) =>
        isNoScript(error) ? client.eval(script, keys.length, ...keys, ...args) : Promise.reject(error)
      )

  const evalshaSpan = traced("redis EVALSHA", redisSpan)
  const run = (keys: ReadonlyArray<string>, args: ReadonlyArray<string>) =>
    evalshaSpan(
      Effect.tryPromise({ try: () => evaluate(consumeScript, scriptSha, keys, args), catch: unavailable })
    ).pipe(
      Effect.flatMap((reply) =>
        isReply(reply)
          ? Effect.succeed<Verdict>({
              outcome: outcomes[reply[0]]!,
              nowUs: reply[1],
              userCount: reply[2],
              userResetUs: reply[3],
              globalCount: reply[4],
              globalResetUs: reply[5],
              ...(reply[6] !== null && { globalEntry: reply[6] }),
              ...(keys.length === 3 && { tokens: tokenVerdict(reply, args) })
            })
          : Effect.fail(unavailable(`unexpected reply from the rate-limit script: ${JSON.stringify(reply)}`))
      )
    )

  const timed =
    options.clock === "effect"
      ? (keys: ReadonlyArray<string>, args: ReadonlyArray<string>) =>
          Effect.flatMap(Clock.currentTimeNanos, (nanos) => run(keys, [...args, String(nanos / 1000n)]))
      : run

  const tokenVerdict = (reply: Reply, args: ReadonlyArray<string>): TokenVerdict => {
    const requested = Number(args[5])
    return {
      requested,
      count: reply[7],
      resetUs: reply[8],
      ...(reply[0] === 0 && requested > 0 && reply[6] !== null && { entry: reply[6] })
    }
  }

  const consume = (userId: string, tokens = 0) =>
    limits.tokens === undefined
      ? timed([userKey(options.keyPrefix, userId), global], [...chatArgs, tokenLimit, "0"])
      : timed(
          [userKey(options.keyPrefix, userId), global, tokensKey(options.keyPrefix, userId)],
          [...chatArgs, tokenLimit, String(tokens)]
        )
  const consumeRead = (userId: string) => timed([readsKey(options.keyPrefix, userId)], readArgs)

  const zremSpan = traced("redis ZREM", {
    kind: "client",
    attributes: { "db.system.name": "redis", "db.operation.name": "ZREM" }
  })
  const returnGlobal = (entry: string) =>
    Effect.asVoid(zremSpan(Effect.tryPromise({ try: () => client.zrem(global, entry), catch: unavailable })))

  const correctTokens = (userId: string, entry: string, tokens: number, returnGlobal: boolean) =>
    evalshaSpan(
      Effect.tryPromise({
        try: () =>
          evaluate(
            correctScript,
            correctSha,
            returnGlobal ? [tokensKey(options.keyPrefix, userId), global] : [tokensKey(options.keyPrefix, userId)],
            [entry, String(tokens)]
          ),
        catch: unavailable
      })
    ).pipe(Effect.asVoid)

  const ping = Effect.tryPromise({ try: () => client.ping(), catch: unavailable }).pipe(Effect.asVoid)

  return { consume, correctTokens, consumeRead, returnGlobal, ping }
}
