/**
 * The rate-limit policy both stores implement, and what they report. Pure.
 *
 * A limit of N per window W means: in ANY rolling interval of length W at most N requests
 * are admitted. A store keeps, per key, the times of the requests it admitted (a sliding
 * log) and admits a request at time t only when fewer than N of them lie in (t − W, t].
 * A chat request is checked against the user's limit and the global one together; when either
 * refuses, neither log records it. The global limit is there to bound upstream spend, so it counts
 * only requests that reach an upstream: an admitted chat request that is refused before any
 * upstream call (400, 402, 404) gives its global entry back (`returnGlobal`), and keeps its
 * per-user one. Cheap authenticated reads (/v1/models, /billing/*) have a per-user limit of their
 * own (`reads`) and never touch the global log.
 *
 * Tokens (on when `tokens` is set): a chat request is admitted only when its token upper bound
 * fits in what the user's requests of the last rolling minute hold, and the store records the
 * bound as the weight of the request's entry (in the user's window: same instant, same window).
 * When the request settles its weight is corrected to the tokens it really used; a request that
 * never reached an upstream weighs nothing. A weight leaves the window with its entry, so in any
 * rolling minute the admitted weights sum to at most the limit, corrections downwards aside.
 */
import type { GatewayConfigShape } from "../../Config.ts"

/** At most `limit` admitted requests in any rolling `windowUs` microseconds. */
export interface Limit {
  readonly limit: number
  readonly windowUs: number
}

export interface Limits {
  readonly user: Limit
  readonly global: Limit
  /** Per user, for /v1/models and /billing/*: separate from `user`, and never counted globally. */
  readonly reads: Limit
  /** Per user, the tokens (upper bounds at admission, usage once settled) of chat requests; off when absent. */
  readonly tokens?: Limit | undefined
}

/** Which limit refused a request; also the `type` label of `rate_limit_requests_total`. */
export type RefusalType = "user_limit" | "global_limit" | "read_limit" | "token_limit"
export const refusalTypes: ReadonlyArray<RefusalType> = ["user_limit", "global_limit", "read_limit", "token_limit"]

/** A store's decision; a refused read is `user_limit` of the reads log (the limiter counts it as `read_limit`). */
export type Outcome = "admitted" | "user_limit" | "global_limit" | "token_limit"

/**
 * A store's decision for one request, in the store's clock (microseconds since the epoch).
 * Counts are the admitted requests in the window after the decision; a reset is the moment
 * the oldest of them leaves the window (freeing a slot), or `nowUs` when the window is empty.
 */
export interface Verdict {
  readonly outcome: Outcome
  readonly nowUs: number
  readonly userCount: number
  readonly userResetUs: number
  readonly globalCount: number
  readonly globalResetUs: number
  /**
   * The admitted chat request's entry in the global log, for `returnGlobal`; absent when refused
   * and for reads (whose global fields are 0 and `nowUs`: they do not count globally).
   */
  readonly globalEntry?: string | undefined
  /** The user's tokens, when the token limit is on (chat requests only). */
  readonly tokens?: TokenVerdict | undefined
}

export interface TokenVerdict {
  /** The request's token upper bound. */
  readonly requested: number
  /** The tokens the user's window holds after the decision (this request's bound included when admitted). */
  readonly count: number
  /**
   * When the request refused for its tokens would fit: enough of the window's tokens have left it. Otherwise,
   * when the oldest entry holding tokens leaves (`nowUs` when none does).
   */
  readonly resetUs: number
  /** The admitted request's entry, for the correction at settle; absent when refused or when it asked for none. */
  readonly entry?: string | undefined
}

const microsPerSecond = 1_000_000

export const limitsFromConfig = (config: GatewayConfigShape["rateLimit"]): Limits => ({
  user: { limit: config.perUserPerMinute, windowUs: 60 * microsPerSecond },
  global: { limit: config.globalPerHour, windowUs: 3600 * microsPerSecond },
  reads: { limit: config.readsPerUserPerMinute, windowUs: 60 * microsPerSecond },
  ...(config.tokensPerUserPerMinute !== undefined && {
    // The same window as the per-user request limit: the stores keep a request's tokens with its entry there.
    tokens: { limit: config.tokensPerUserPerMinute, windowUs: 60 * microsPerSecond }
  })
})

/** The limits a read is checked against, in the shape of a chat request's: `reads` as the user's, no global. */
export const readLimits = (limits: Limits): Limits => ({ ...limits, user: limits.reads, tokens: undefined })

/** Whole seconds from `nowUs` until `atUs`, rounded up so that a client waiting that long is not early. */
export const secondsUntil = (atUs: number, nowUs: number): number =>
  atUs <= nowUs ? 0 : Math.ceil((atUs - nowUs) / microsPerSecond)

/** Epoch seconds of an instant in microseconds, rounded up. */
export const epochSeconds = (atUs: number): number => Math.ceil(atUs / microsPerSecond)

/** Whether a request's bound does not fit in what its user's window has left. */
export const tokensFull = (tokens: TokenVerdict, limit: Limit): boolean =>
  tokens.requested > 0 && tokens.count + tokens.requested > limit.limit

/**
 * How long a refused client must wait until the request would be admitted: until a slot
 * frees in every limit that is full (both may be).
 */
export const retryAfterSeconds = (verdict: Verdict, limits: Limits): number => {
  const userWait = verdict.userCount >= limits.user.limit ? secondsUntil(verdict.userResetUs, verdict.nowUs) : 0
  const globalWait = verdict.globalCount >= limits.global.limit ? secondsUntil(verdict.globalResetUs, verdict.nowUs) : 0
  const { tokens } = verdict
  const tokenWait =
    tokens !== undefined &&
    limits.tokens !== undefined &&
    tokens.entry === undefined &&
    tokensFull(tokens, limits.tokens)
      ? secondsUntil(tokens.resetUs, verdict.nowUs)
      : 0
  return Math.max(1, userWait, globalWait, tokenWait)
}
