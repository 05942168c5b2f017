/**
 * The in-process store: the same sliding-log policy as the Redis script (see Policy.ts),
 * kept in this process. It is the store when REDIS_URL is unset and the fallback while
 * Redis is unreachable.
 */
import type { Limit, Limits, Outcome, Verdict } from "./Policy.ts"

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

export interface MemoryStore {
  /** Checks and consumes both limits for a chat request at `nowUs`. */
  readonly consumeAt: (userId: string, nowUs: number) => Verdict
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

  const consumeAt = (userId: string, atUs: number): Verdict => {
    const nowUs = tick(atUs)
    const user = logOf(users, userId, limits.user)
    user.trim(nowUs, limits.user.windowUs)
    global.trim(nowUs, limits.global.windowUs)
    const outcome: Outcome = isFull(user, limits.user)
      ? "user_limit"
      : isFull(global, limits.global)
        ? "global_limit"
        : "admitted"
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
      ...(outcome === "admitted" && { globalEntry: String(nowUs) })
    }
  }

  const returnGlobal = (entry: string) => {
    global.remove(Number(entry))
  }

  const sweepLogs = (logs: Map<string, SlidingLog>, cutoff: number) => {
    for (const [userId, log] of logs) {
      if (log.newest <= cutoff) logs.delete(userId)
    }
  }
  const sweep = (nowUs: number) => {
    sweepLogs(users, nowUs - limits.user.windowUs)
    sweepLogs(readers, nowUs - limits.reads.windowUs)
  }

  return { consumeAt, consumeReadAt, returnGlobal, sweep, trackedUsers: () => users.size + readers.size }
}
