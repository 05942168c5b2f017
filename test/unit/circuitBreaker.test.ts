import { describe, expect, it } from "vitest"
import {
  admit,
  advance,
  type Breaker,
  type BreakerSettings,
  initial,
  type Outcome,
  type Permit,
  settle
} from "../../src/services/resilience/CircuitBreaker.ts"

const settings: BreakerSettings = { failureThreshold: 5, recoveryTimeoutMs: 60_000, halfOpenProbes: 1 }

/** Admits a call at `now` and expects it through. */
const admitted = (breaker: Breaker, now: number, options = settings): readonly [Permit, Breaker] => {
  const [admission, next] = admit(breaker, options, now)
  if (admission._tag !== "Admitted") throw new Error(`expected admission, got ${JSON.stringify(admission)}`)
  return [admission.permit, next]
}

/** One whole call: admitted at `now`, ending with `outcome`. */
const call = (breaker: Breaker, outcome: Outcome, now = 0): Breaker => {
  const [permit, next] = admitted(breaker, now)
  return settle(next, settings, permit, outcome, now)
}

const failTimes = (breaker: Breaker, times: number, now = 0): Breaker =>
  Array.from({ length: times }).reduce<Breaker>((current) => call(current, "failure", now), breaker)

describe("circuit breaker state machine", () => {
  it("opens on the 5th consecutive failure, not the 4th", () => {
    const four = failTimes(initial, 4, 1_000)
    expect(four).toMatchObject({ phase: "closed", failures: 4, lastFailureAt: 1_000 })
    const five = call(four, "failure", 2_000)
    expect(five).toMatchObject({ phase: "open", failures: 5, openedAt: 2_000, lastFailureAt: 2_000 })
  })

  it("counts consecutive failures only: a success starts the count again", () => {
    const recovered = call(failTimes(initial, 4), "success")
    expect(recovered).toMatchObject({ phase: "closed", failures: 0 })
    expect(failTimes(recovered, 4).phase).toBe("closed")
  })

  it("never counts neutral outcomes (client-caused errors, cancelled calls)", () => {
    const breaker = Array.from({ length: 20 }).reduce<Breaker>((current) => call(current, "neutral"), initial)
    expect(breaker).toMatchObject({ phase: "closed", failures: 0, lastFailureAt: undefined })
    // Nor do they break a run of failures.
    expect(call(call(failTimes(initial, 4), "neutral"), "failure").phase).toBe("open")
  })

  it("refuses calls while open with the time left, and half-opens exactly at the recovery timeout", () => {
    const open = failTimes(initial, 5, 10_000)
    expect(admit(open, settings, 10_000)[0]).toEqual({ _tag: "Rejected", retryAfterMs: 60_000 })
    expect(admit(open, settings, 45_000)[0]).toEqual({ _tag: "Rejected", retryAfterMs: 25_000 })
    expect(admit(open, settings, 69_999)[0]).toEqual({ _tag: "Rejected", retryAfterMs: 1 })
    expect(advance(open, settings, 69_999).phase).toBe("open")
    expect(advance(open, settings, 70_000).phase).toBe("half_open")
    const [, probing] = admitted(open, 70_000)
    expect(probing).toMatchObject({ phase: "half_open", probesInFlight: 1 })
  })

  it("admits only the configured number of probes while half-open", () => {
    const open = failTimes(initial, 5)
    const [, oneProbe] = admitted(open, 60_000)
    expect(admit(oneProbe, settings, 60_000)[0]._tag).toBe("Rejected")

    const two = { ...settings, halfOpenProbes: 2 }
    const [, first] = admitted(open, 60_000, two)
    const [, second] = admitted(first, 60_000, two)
    expect(admit(second, two, 60_000)[0]._tag).toBe("Rejected")
  })

  it("closes when a probe succeeds and reopens, for a new recovery timeout, when it fails", () => {
    const open = failTimes(initial, 5)
    const [probe, halfOpen] = admitted(open, 60_000)
    expect(settle(halfOpen, settings, probe, "success", 61_000)).toMatchObject({ phase: "closed", failures: 0 })

    const reopened = settle(halfOpen, settings, probe, "failure", 61_000)
    expect(reopened).toMatchObject({ phase: "open", openedAt: 61_000, failures: 6 })
    expect(admit(reopened, settings, 120_999)[0]).toEqual({ _tag: "Rejected", retryAfterMs: 1 })
    expect(admit(reopened, settings, 121_000)[0]._tag).toBe("Admitted")
  })

  it("frees the probe slot when a probe ends neutrally", () => {
    const [probe, halfOpen] = admitted(failTimes(initial, 5), 60_000)
    const freed = settle(halfOpen, settings, probe, "neutral", 60_500)
    expect(freed).toMatchObject({ phase: "half_open", probesInFlight: 0 })
    expect(admit(freed, settings, 60_500)[0]._tag).toBe("Admitted")
  })

  it("ignores late outcomes of calls admitted before the breaker changed phase", () => {
    // A slow call admitted while closed outlives the opening of the breaker.
    const [slow, closed] = admitted(initial, 0)
    const open = failTimes(closed, 5)
    const [, halfOpen] = admitted(open, 60_000)
    // Its success must not close a half-open breaker: only the probe decides.
    expect(settle(halfOpen, settings, slow, "success", 60_001)).toEqual(halfOpen)
    // Its failure must not reopen one either, nor free the probe's slot.
    expect(settle(halfOpen, settings, slow, "failure", 60_001)).toEqual(halfOpen)
    expect(settle(halfOpen, settings, slow, "neutral", 60_001)).toEqual(halfOpen)
  })
})
