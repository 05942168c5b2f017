/**
 * The in-process store: the same sliding-log policy as the Redis script (see Policy.ts),
 * kept in this process. It is the store when REDIS_URL is unset and the fallback while
 * Redis is unreachable.
 */
import type { Limit, Limits, Outcome, TokenVerdict, Verdict } from "./Policy.ts"

/**
 * The admission times of one key, oldest first, in a ring buffer that grows by doubling
 * up to the limit, so a quiet key costs a few bytes and a busy one 8 bytes per request in
 * its window.
 */
export class SlidingLog {
  private times: Float64Array
  private head = 0
  private size = 0
  private readonly capacity: number

  constructor(capacity: number) {
    this.capacity = capacity
    this.times = new Float64Array(Math.min(capacity, 8))
  }

  get count(): number {
    return this.size
  }

  /** Drops the entries that left the window ending at `nowUs`: those at or before `nowUs − windowUs`. */
  trim(nowUs: number, windowUs: number): void {
    const cutoff = nowUs - windowUs
    while (this.size > 0 && this.times[this.head]! <= cutoff) {
      this.head = (this.head + 1) % this.times.length
      this.size--
    }
  }

  /** When the oldest entry leaves the window, or `nowUs` when there is none. */
  resetAt(nowUs: number, windowUs: number): number {
    return this.size === 0 ? nowUs : this.times[this.head]! + windowUs
  }

  /** The newest entry, or -Infinity. */
  get newest(): number {
    return this.size === 0 ? -Infinity : this.times[(this.head + this.size - 1) % this.times.length]!
  }

  /** Appends an admission; callers keep `size < capacity` (the limit) and times non-decreasing. */
  push(atUs: number): void {
    if (this.size === this.times.length) this.grow()
    this.times[(this.head + this.size) % this.times.length] = atUs
    this.size++
  }

  /**
   * Removes one entry made at `atUs` (entries of one instant are interchangeable), newest first
   * since a returned entry is recent; false when none is left (it has left the window).
   */
  remove(atUs: number): boolean {
    const length = this.times.length
    for (let i = this.size - 1; i >= 0; i--) {
      if (this.times[(this.head + i) % length] !== atUs) continue
      for (let j = i; j < this.size - 1; j++) {
        this.times[(this.head + j) % length] = this.times[(this.head + j + 1) % length]!
      }
      this.size--
      return true
    }
    return false
  }

  private grow(): void {
    const next = new Float64Array(Math.min(this.capacity, this.times.length * 2))
    for (let i = 0; i < this.size; i++) next[i] = this.times[(this.head + i) % this.times.length]!
    this.times = next
    this.head = 0
  }
}

/**
 * The token weights of one user's admitted requests, oldest first, with their sum: the in-process
 * analogue of the Redis script's hash. Only requests that asked for tokens have an entry, at most
 * one per admitted request in the window.
 */
export class TokenLog {
  private entries: Array<{ readonly atUs: number; readonly id: number; tokens: number }> = []
  private total = 0

  get sum(): number {
    return this.total
  }

  get newest(): number {
    return this.entries.at(-1)?.atUs ?? -Infinity
  }

  /** Drops the entries that left the window ending at `nowUs`, and their tokens. */
  trim(nowUs: number, windowUs: number): void {
    const cutoff = nowUs - windowUs
    let expired = 0
    while (expired < this.entries.length && this.entries[expired]!.atUs <= cutoff) {
      this.total -= this.entries[expired]!.tokens
      expired++
    }
    if (expired > 0) this.entries.splice(0, expired)
  }

  push(atUs: number, id: number, tokens: number): void {
    this.entries.push({ atUs, id, tokens })
    this.total += tokens
  }

  /** Sets an entry's weight to `tokens`; false when it has left the window. */
  correct(id: number, tokens: number): boolean {
    const entry = this.entries.findLast((candidate) => candidate.id === id)
    if (entry === undefined) return false
    this.total += tokens - entry.tokens
    entry.tokens = tokens
    return true
  }

  /**
   * When `needed` more tokens would fit under `limit`: the moment enough entries have left the window. When
   * they fit already, when the oldest entry that holds tokens leaves; `nowUs` when none does.
   */
  resetAt(nowUs: number, windowUs: number, needed: number, limit: number): number {
    const fits = this.total + needed <= limit
    let freed = 0
    for (const entry of this.entries) {
      if (entry.tokens === 0) continue
      freed += entry.tokens
      if (fits || this.total - freed + needed <= limit) return entry.atUs + windowUs
    }
    return nowUs
  }
}

export interface MemoryStore {
  /** Checks and consumes both limits, and `tokens` when the token limit is on, for a chat request at `nowUs`. */
  readonly consumeAt: (userId: string, nowUs: number, tokens?: number) => Verdict
  /** Sets an admitted request's tokens (`TokenVerdict.entry`) to `tokens`; nothing once its entry left the window. */
  readonly correctTokens: (userId: string, entry: string, tokens: number) => void
  /** Checks and consumes the user's reads limit at `nowUs` (never the global one). */
  readonly consumeReadAt: (userId: string, nowUs: number) => Verdict
  /** Gives back an admitted chat request's global entry (`Verdict.globalEntry`). */
  readonly returnGlobal: (entry: string) => void
  /** Forgets users with nothing left in their window (the analogue of Redis key TTLs). */
  readonly sweep: (nowUs: number) => void
  /** How many users the store currently remembers. */
  readonly trackedUsers: () => number
}

const isFull = (log: SlidingLog, limit: Limit) => log.count >= limit.limit

export const makeMemoryStore = (limits: Limits): MemoryStore => {
  const users = new Map<string, SlidingLog>()
  const readers = new Map<string, SlidingLog>()
  const tokenLogs = new Map<string, TokenLog>()
  let nextTokenEntry = 0
  const global = new SlidingLog(limits.global.limit)
  // Admission times must not go backwards inside a log; a clock step back is treated as no time passing.
  let latestUs = -Infinity

  const logOf = (logs: Map<string, SlidingLog>, userId: string, limit: Limit) => {
    let log = logs.get(userId)
    if (log === undefined) {
      log = new SlidingLog(limit.limit)
      logs.set(userId, log)
    }
    return log
  }

  const tick = (atUs: number) => {
    latestUs = Math.max(atUs, latestUs)
    return latestUs
  }

  const consumeReadAt = (userId: string, atUs: number): Verdict => {
    const nowUs = tick(atUs)
    const reads = logOf(readers, userId, limits.reads)
    reads.trim(nowUs, limits.reads.windowUs)
    const outcome: Outcome = isFull(reads, limits.reads) ? "user_limit" : "admitted"
    if (outcome === "admitted") reads.push(nowUs)
    return {
      outcome,
      nowUs,
      userCount: reads.count,
      userResetUs: reads.resetAt(nowUs, limits.reads.windowUs),
      globalCount: 0,
      globalResetUs: nowUs
    }
  }

  const tokenLogOf = (userId: string) => {
    let log = tokenLogs.get(userId)
    if (log === undefined) {
      log = new TokenLog()
      tokenLogs.set(userId, log)
    }
    return log
  }

  const consumeAt = (userId: string, atUs: number, requested = 0): Verdict => {
    const nowUs = tick(atUs)
    const user = logOf(users, userId, limits.user)
    user.trim(nowUs, limits.user.windowUs)
    global.trim(nowUs, limits.global.windowUs)
    const tokenLimit = limits.tokens
    const tokenLog = tokenLimit === undefined ? undefined : tokenLogOf(userId)
    tokenLog?.trim(nowUs, tokenLimit!.windowUs)
    const outcome: Outcome = isFull(user, limits.user)
      ? "user_limit"
      : tokenLog !== undefined && requested > 0 && tokenLog.sum + requested > tokenLimit!.limit
        ? "token_limit"
        : isFull(global, limits.global)
          ? "global_limit"
          : "admitted"
    let tokens: TokenVerdict | undefined
    if (tokenLog !== undefined) {
      const entry = outcome === "admitted" && requested > 0 ? nextTokenEntry++ : undefined
      if (entry !== undefined) tokenLog.push(nowUs, entry, requested)
      tokens = {
        requested,
        count: tokenLog.sum,
        resetUs: tokenLog.resetAt(nowUs, tokenLimit!.windowUs, entry === undefined ? requested : 0, tokenLimit!.limit),
        ...(entry !== undefined && { entry: String(entry) })
      }
    }
    if (outcome === "admitted") {
      user.push(nowUs)
      global.push(nowUs)
    }
    return {
      outcome,
      nowUs,
      userCount: user.count,
      userResetUs: user.resetAt(nowUs, limits.user.windowUs),
      globalCount: global.count,
      globalResetUs: global.resetAt(nowUs, limits.global.windowUs),
      ...(outcome === "admitted" && { globalEntry: String(nowUs) }),
      ...(tokens !== undefined && { tokens })
    }
  }

  const correctTokens = (userId: string, entry: string, tokens: number) => {
    tokenLogs.get(userId)?.correct(Number(entry), tokens)
  }

  const returnGlobal = (entry: string) => {
    global.remove(Number(entry))
  }

  const sweepLogs = (logs: Map<string, { readonly newest: number }>, cutoff: number) => {
    for (const [userId, log] of logs) {
      if (log.newest <= cutoff) logs.delete(userId)
    }
  }
  const sweep = (nowUs: number) => {
    sweepLogs(users, nowUs - limits.user.windowUs)
    sweepLogs(readers, nowUs - limits.reads.windowUs)
    if (limits.tokens !== undefined) sweepLogs(tokenLogs, nowUs - limits.tokens.windowUs)
  }

  return {
    consumeAt,
    correctTokens,
    consumeReadAt,
    returnGlobal,
    sweep,
    trackedUsers: () => users.size + readers.size + tokenLogs.size
  }
}
