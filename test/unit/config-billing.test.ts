import * as Duration from "effect/Duration"
import { describe, expect, it } from "vitest"
import { ConfigInvalid } from "../../src/Config.ts"
import { configOf } from "../support/config.ts"
import * as Money from "../../src/domain/Money.ts"

const billingOf = (env: Record<string, string>) => {
  const config = configOf(env, "test")
  if (config instanceof ConfigInvalid) throw config
  return config.billing
}

const problemsOf = (env: Record<string, string>) => {
  const config = configOf(env, "test")
  return config instanceof ConfigInvalid ? config.problems : []
}

describe("billing configuration", () => {
  it("defaults to a 100.0 initial balance, 15-minute holds swept every minute, idempotency keys kept a day", () => {
    expect(billingOf({})).toEqual({
      initialBalance: Money.parse("100")!,
      holdTtl: Duration.minutes(15),
      sweepInterval: Duration.minutes(1),
      idempotencyRetention: Duration.hours(24)
    })
  })

  it("reads the idempotency retention in whole minutes, within 30 days", () => {
    expect(billingOf({ IDEMPOTENCY_RETENTION_MINUTES: "90" }).idempotencyRetention).toEqual(Duration.minutes(90))
    expect(problemsOf({ IDEMPOTENCY_RETENTION_MINUTES: "0" })).toEqual([
      expect.stringContaining("IDEMPOTENCY_RETENTION_MINUTES")
    ])
    expect(problemsOf({ IDEMPOTENCY_RETENTION_MINUTES: "43201" })).toEqual([
      expect.stringContaining("IDEMPOTENCY_RETENTION_MINUTES")
    ])
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

  describe("a live request's hold can never expire", () => {
    it.each(["29", "10", "1"])(
      "refuses BILLING_HOLD_TTL_SECONDS=%s: a renewal and its retry must fit in a third of it",
      (value) => {
        expect(problemsOf({ BILLING_HOLD_TTL_SECONDS: value })).toEqual([
          `BILLING_HOLD_TTL_SECONDS: must be at least 30, got ${value}. A request renews its hold every third of the ` +
            "TTL, and a renewal (at most 5 s) and its retry must fit in one interval, or the hold of a live request " +
            "could expire and be released"
        ])
      }
    )

    it("accepts 30 s, renewed every 10 s", () => {
      expect(billingOf({ BILLING_HOLD_TTL_SECONDS: "30" }).holdTtl).toEqual(Duration.seconds(30))
    })

    it("accepts a TTL shorter than the longest request: renewals, not the TTL, keep a live hold", () => {
      const env = {
        BILLING_HOLD_TTL_SECONDS: "60",
        UPSTREAM_REQUEST_TIMEOUT_SECONDS: "300",
        OPENAI_TOTAL_TIMEOUT_SECONDS: "3600",
        CLIENT_WRITE_TIMEOUT_SECONDS: "120"
      }
      expect(problemsOf(env)).toEqual([])
      expect(billingOf(env).holdTtl).toEqual(Duration.seconds(60))
    })
  })

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
