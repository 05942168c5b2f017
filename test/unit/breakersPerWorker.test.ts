import { describe, expect, it } from "vitest"
import { perWorker } from "../../src/services/resilience/CircuitBreakers.ts"

const settings = { failureThreshold: 5, recoveryTimeoutMs: 60_000, halfOpenProbes: 1 }

describe("breaker thresholds with several workers", () => {
  it("give each worker its share of the threshold, rounded up, at least 1", () => {
    expect(perWorker(settings, 1)).toEqual(settings)
    expect(perWorker(settings, 2).failureThreshold).toBe(3)
    expect(perWorker(settings, 5).failureThreshold).toBe(1)
    expect(perWorker(settings, 8).failureThreshold).toBe(1)
    expect(perWorker({ ...settings, failureThreshold: 100 }, 4).failureThreshold).toBe(25)
    // Recovery and probes stay per worker.
    expect(perWorker(settings, 4)).toMatchObject({ recoveryTimeoutMs: 60_000, halfOpenProbes: 1 })
  })
})
