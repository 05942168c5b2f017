import { describe, expect, it } from "vitest"
import { type Limits, retryAfterSeconds, secondsUntil, type Verdict } from "../../src/services/ratelimit/Policy.ts"

const second = 1_000_000
const limits: Limits = {
  user: { limit: 60, windowUs: 60 * second },
  global: { limit: 1000, windowUs: 3600 * second },
  reads: { limit: 300, windowUs: 60 * second }
}

describe("the rate-limit policy's waits", () => {
  it("is no wait at all for a moment already past", () => {
    expect(secondsUntil(4 * second, 5 * second)).toBe(0)
    expect(secondsUntil(5 * second, 5 * second)).toBe(0)
    expect(secondsUntil(5 * second + 1, 5 * second)).toBe(1)
  })

  it("waits only for the limits that are full", () => {
    // The global limit refused; the user's window is not full, so its later reset does not count.
    const refusedByGlobal: Verdict = {
      outcome: "global_limit",
      nowUs: 0,
      userCount: 1,
      userResetUs: 50 * second,
      globalCount: 1000,
      globalResetUs: 10 * second
    }
    expect(retryAfterSeconds(refusedByGlobal, limits)).toBe(10)
    const refusedByUser: Verdict = { ...refusedByGlobal, outcome: "user_limit", userCount: 60, globalCount: 999 }
    expect(retryAfterSeconds(refusedByUser, limits)).toBe(50)
  })
})
