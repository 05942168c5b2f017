import { describe, expect, it } from "vitest"
import { llmServices, modelStatus } from "../../src/services/health/Checks.ts"
import { capacity, HealthHistory } from "../../src/services/health/HealthHistory.ts"
import { UpstreamOutcomes, window } from "../../src/services/health/UpstreamOutcomes.ts"
import { Effect } from "effect"
import type { BreakerSnapshot } from "../../src/services/resilience/CircuitBreakers.ts"

const breaker = (model: string, state: BreakerSnapshot["state"] = "closed"): BreakerSnapshot => ({
  model,
  state,
  failureCount: 0,
  lastFailureAt: undefined
})
const none = { attempts: 0, failures: 0 }

describe("LLM service status from breakers and recent outcomes", () => {
  it("is unhealthy while open, degraded while half-open or while half the recent attempts fail", () => {
    expect(modelStatus(breaker("m", "open"), none)).toBe("unhealthy")
    expect(modelStatus(breaker("m", "half_open"), none)).toBe("degraded")
    expect(modelStatus(breaker("m"), { attempts: 10, failures: 5 })).toBe("degraded")
    expect(modelStatus(breaker("m"), { attempts: 10, failures: 4 })).toBe("healthy")
    // Too few attempts say nothing yet.
    expect(modelStatus(breaker("m"), { attempts: 3, failures: 3 })).toBe("healthy")
  })

  it("summarises the models: degraded when some are not healthy, unhealthy when none is", () => {
    const recent = (model: string) => (model === "b" ? { attempts: 8, failures: 6 } : none)
    const mixed = llmServices([breaker("a"), breaker("b"), breaker("c", "open")], recent)
    expect(mixed).toEqual({
      status: "degraded",
      message: "b: 6 of the last 8 upstream attempts failed; c: circuit breaker open",
      details: { a: "healthy", b: "degraded", c: "unhealthy" }
    })
    expect(llmServices([breaker("a", "open"), breaker("c", "open")], () => none).status).toBe("unhealthy")
    expect(llmServices([breaker("a")], () => none)).toMatchObject({
      status: "healthy",
      message: "All LLM services operational"
    })
  })

  it("remembers only the last attempts of each model", () => {
    const outcomes = Effect.runSync(Effect.service(UpstreamOutcomes).pipe(Effect.provide(UpstreamOutcomes.layer)))
    for (let i = 0; i < window; i++) outcomes.record("m", false)
    expect(outcomes.recent("m")).toEqual({ attempts: window, failures: window })
    for (let i = 0; i < window / 2; i++) outcomes.record("m", true)
    expect(outcomes.recent("m")).toEqual({ attempts: window, failures: window / 2 })
    expect(outcomes.recent("other")).toEqual(none)
  })
})

describe("health history", () => {
  it("keeps the latest checks in order and counts them all", () => {
    const history = new HealthHistory()
    for (let i = 0; i < capacity + 5; i++) {
      history.add(`check-${i}`, { status: "healthy", message: "ok", details: {}, duration_ms: i }, "t")
    }
    const body = history.body()
    expect(body.total_checks).toBe(capacity + 5)
    expect(body.history).toHaveLength(capacity)
    expect(body.history[0]!.name).toBe("check-5")
    expect(body.history.at(-1)).toEqual({
      name: `check-${capacity + 4}`,
      status: "healthy",
      message: "ok",
      timestamp: "t",
      duration_ms: capacity + 4
    })
  })
})
