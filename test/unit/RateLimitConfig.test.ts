import { describe, expect, it } from "vitest"
import { ConfigInvalid } from "../../src/Config.ts"
import { configOf } from "../support/config.ts"
import { limitsFromConfig } from "../../src/services/ratelimit/Policy.ts"

describe("rate-limit configuration", () => {
  it("defaults to the spec's 60 per user per minute and 1000 per hour in total, and 300 reads per user per minute", () => {
    const config = configOf({}, "test")
    if (config instanceof ConfigInvalid) throw config
    // toStrictEqual: no token limit at all by default, not even an undefined one.
    expect(limitsFromConfig(config.rateLimit)).toStrictEqual({
      user: { limit: 60, windowUs: 60_000_000 },
      global: { limit: 1000, windowUs: 3_600_000_000 },
      reads: { limit: 300, windowUs: 60_000_000 }
    })
  })

  it("refuses to start on limits that are not positive integers, naming each", () => {
    const config = configOf({ RATE_LIMIT_PER_USER_PER_MINUTE: "0", RATE_LIMIT_GLOBAL_PER_HOUR: "lots" }, "test")
    expect(config).toBeInstanceOf(ConfigInvalid)
    const problems = (config as ConfigInvalid).problems.join("\n")
    expect(problems).toContain("RATE_LIMIT_PER_USER_PER_MINUTE")
    expect(problems).toContain("RATE_LIMIT_GLOBAL_PER_HOUR")
  })

  it("has no token limit unless RATE_LIMIT_TOKENS_PER_USER_PER_MINUTE sets one, per rolling minute, within range", () => {
    const config = configOf({ RATE_LIMIT_TOKENS_PER_USER_PER_MINUTE: "90000" }, "test")
    if (config instanceof ConfigInvalid) throw config
    expect(limitsFromConfig(config.rateLimit).tokens).toEqual({ limit: 90_000, windowUs: 60_000_000 })
    for (const bad of ["0", "-5", "1.5", "10000000001", "many"]) {
      const refused = configOf({ RATE_LIMIT_TOKENS_PER_USER_PER_MINUTE: bad }, "test")
      expect(refused, bad).toBeInstanceOf(ConfigInvalid)
      expect((refused as ConfigInvalid).problems.join("\n")).toContain("RATE_LIMIT_TOKENS_PER_USER_PER_MINUTE")
    }
  })
})
