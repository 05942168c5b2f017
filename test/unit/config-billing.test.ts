import { describe, expect, it } from "vitest"
import { ConfigInvalid, parseConfig } from "../../src/Config.ts"
import * as Money from "../../src/domain/Money.ts"

const billingOf = (env: Record<string, string>) => {
  const config = parseConfig(env, "test")
  if (config instanceof ConfigInvalid) throw config
  return config.billing
}

const problemsOf = (env: Record<string, string>) => {
  const config = parseConfig(env, "test")
  return config instanceof ConfigInvalid ? config.problems : []
}

describe("billing configuration", () => {
  it("defaults to a 100.0 initial balance, 15-minute holds swept every minute", () => {
    expect(billingOf({})).toEqual({ initialBalance: Money.parse("100")!, holdTtlMs: 900_000, sweepIntervalMs: 60_000 })
  })

  it("reads the initial balance exactly, never through a float", () => {
    expect(billingOf({ BILLING_INITIAL_BALANCE: "0.100000001" }).initialBalance).toBe(100_000_001n)
    expect(billingOf({ BILLING_INITIAL_BALANCE: "0" }).initialBalance).toBe(0n)
  })

  it.each(["abc", "-1", "1.0000000001", "1e3", "2000000000"])(
    "refuses BILLING_INITIAL_BALANCE=%s at start-up",
    (value) => {
      expect(problemsOf({ BILLING_INITIAL_BALANCE: value })).toEqual([
        expect.stringMatching(/^BILLING_INITIAL_BALANCE: expected an amount of USD/)
      ])
    }
  )

  it("reports every bad billing variable at once", () => {
    const problems = problemsOf({
      BILLING_INITIAL_BALANCE: "lots",
      BILLING_HOLD_TTL_SECONDS: "5",
      BILLING_SWEEP_INTERVAL_SECONDS: "0"
    })
    expect(problems.map((problem) => problem.split(":")[0])).toEqual([
      "BILLING_INITIAL_BALANCE",
      "BILLING_HOLD_TTL_SECONDS",
      "BILLING_SWEEP_INTERVAL_SECONDS"
    ])
  })
})
