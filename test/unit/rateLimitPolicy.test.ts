import { describe, expect, it } from "vitest"
import { goDuration } from "../../src/http/RateLimit.ts"
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

describe("OpenAI's reset durations (x-ratelimit-reset-tokens)", () => {
  it("are Go durations to the millisecond, rounded up", () => {
    expect(goDuration(0)).toBe("0s")
    expect(goDuration(-5)).toBe("0s")
    expect(goDuration(1)).toBe("1ms")
    expect(goDuration(250_000)).toBe("250ms")
    expect(goDuration(1_000_000)).toBe("1s")
    expect(goDuration(17_280_000)).toBe("17.28s")
    expect(goDuration(59_999_001)).toBe("1m0s")
    expect(goDuration(360_000_000)).toBe("6m0s")
    expect(goDuration(61_500_000)).toBe("1m1.5s")
    expect(goDuration(3_600_000_000)).toBe("1h0m0s")
  })
})
