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

  private grow(): void {
    const next = new Float64Array(Math.min(this.capacity, this.times.length * 2))
    for (let i = 0; i < this.size; i++) next[i] = this.times[(this.head + i) % this.times.length]!
    this.times = next
    this.head = 0
  }
}

export interface MemoryStore {
  /** Checks and consumes both limits for a request at `nowUs`. */
  readonly consumeAt: (userId: string, nowUs: number) => Verdict
  /** Forgets users with nothing left in their window (the analogue of Redis key TTLs). */
  readonly sweep: (nowUs: number) => void
  /** How many users the store currently remembers. */
  readonly trackedUsers: () => number
}

const isFull = (log: SlidingLog, limit: Limit) => log.count >= limit.limit

export const makeMemoryStore = (limits: Limits): MemoryStore => {
  const users = new Map<string, SlidingLog>()
  const global = new SlidingLog(limits.global.limit)
  // Admission times must not go backwards inside a log; a clock step back is treated as no time passing.
  let latestUs = -Infinity

  const consumeAt = (userId: string, atUs: number): Verdict => {
    const nowUs = Math.max(atUs, latestUs)
    latestUs = nowUs
    let user = users.get(userId)
    if (user === undefined) {
      user = new SlidingLog(limits.user.limit)
      users.set(userId, user)
    }
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
      globalResetUs: global.resetAt(nowUs, limits.global.windowUs)
    }
  }

  const sweep = (nowUs: number) => {
    const cutoff = nowUs - limits.user.windowUs
    for (const [userId, log] of users) {
      if (log.newest <= cutoff) users.delete(userId)
    }
  }

  return { consumeAt, sweep, trackedUsers: () => users.size }
}
