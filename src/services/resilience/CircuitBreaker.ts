/**
 * The circuit breaker of one model as a pure state machine over explicit time, so that
 * every transition is a plain function call (tested without clocks) and the service that
 * holds it (`CircuitBreakers`) only has to apply these functions atomically in a Ref.
 *
 *   closed ──THRESHOLD consecutive failures──▶ open ──RECOVERY_TIMEOUT──▶ half_open
 *     ▲                                          ▲                           │
 *     └──────────── a probe succeeds ────────────┼── a probe fails ──────────┘
 */
import type { BreakerState as BreakerPhase } from "../../domain/Health.ts"

export type { BreakerPhase }

export interface BreakerSettings {
  readonly failureThreshold: number
  readonly recoveryTimeoutMs: number
  /** How many calls may probe a half-open breaker at the same time. */
  readonly halfOpenProbes: number
}

interface BreakerCommon {
  /**
   * Bumped on every change of phase. A permit remembers the generation it was issued in,
   * so that a slow call admitted before the breaker opened cannot move it once it has.
   */
  readonly generation: number
  /** Consecutive failed attempts: counting while closed, the count that opened it afterwards. */
  readonly failures: number
  /** Epoch milliseconds of the last failure that counted. */
  readonly lastFailureAt: number | undefined
}

export type Breaker =
  | (BreakerCommon & { readonly phase: "closed" })
  | (BreakerCommon & { readonly phase: "open"; readonly openedAt: number })
  | (BreakerCommon & { readonly phase: "half_open"; readonly probesInFlight: number })

export interface Permit {
  readonly generation: number
}

export type Admission =
  { readonly _tag: "Admitted"; readonly permit: Permit } | { readonly _tag: "Rejected"; readonly retryAfterMs: number }

/** How a guarded call ended, as far as the breaker is concerned. */
export type Outcome = "success" | "failure" | "neutral"

/** While half-open probes are in flight their verdict is near; a client refused meanwhile may come back soon. */
const probeVerdictWaitMs = 1000

export const initial: Breaker = { phase: "closed", generation: 0, failures: 0, lastFailureAt: undefined }

/** Time moves an open breaker to half-open by itself: the first look after the recovery timeout sees it. */
export const advance = (breaker: Breaker, settings: BreakerSettings, now: number): Breaker =>
  breaker.phase === "open" && now >= breaker.openedAt + settings.recoveryTimeoutMs
    ? {
        phase: "half_open",
        generation: breaker.generation + 1,
        failures: breaker.failures,
        lastFailureAt: breaker.lastFailureAt,
        probesInFlight: 0
      }
    : breaker

/** When an open breaker turns half-open (meaningful only for an open breaker). */
export const recoversAt = (breaker: Breaker & { readonly phase: "open" }, settings: BreakerSettings): number =>
  breaker.openedAt + settings.recoveryTimeoutMs

/** Lets a call through, or refuses it with the time until the breaker may let one through. */
export const admit = (breaker: Breaker, settings: BreakerSettings, now: number): readonly [Admission, Breaker] => {
  const current = advance(breaker, settings, now)
  switch (current.phase) {
    case "closed":
      return [{ _tag: "Admitted", permit: { generation: current.generation } }, current]
    case "open":
      return [{ _tag: "Rejected", retryAfterMs: recoversAt(current, settings) - now }, current]
    case "half_open":
      return current.probesInFlight < settings.halfOpenProbes
        ? [
            { _tag: "Admitted", permit: { generation: current.generation } },
            { ...current, probesInFlight: current.probesInFlight + 1 }
          ]
        : [{ _tag: "Rejected", retryAfterMs: probeVerdictWaitMs }, current]
  }
}

const open = (breaker: Breaker, now: number, failures: number): Breaker => ({
  phase: "open",
  generation: breaker.generation + 1,
  failures,
  lastFailureAt: now,
  openedAt: now
})

/** Applies the outcome of an admitted call. */
export const settle = (
  breaker: Breaker,
  settings: BreakerSettings,
  permit: Permit,
  outcome: Outcome,
  now: number
): Breaker => {
  const current = advance(breaker, settings, now)
  if (permit.generation !== current.generation || outcome === "neutral") {
    // A neutral probe (the client left, or its request was at fault) frees its slot for another one.
    return current.phase === "half_open" && permit.generation === current.generation
      ? { ...current, probesInFlight: current.probesInFlight - 1 }
      : current
  }
  switch (current.phase) {
    case "closed": {
      if (outcome === "success") return current.failures === 0 ? current : { ...current, failures: 0 }
      const failures = current.failures + 1
      return failures >= settings.failureThreshold
        ? open(current, now, failures)
        : { ...current, failures, lastFailureAt: now }
    }
    case "half_open":
      return outcome === "success"
        ? { phase: "closed", generation: current.generation + 1, failures: 0, lastFailureAt: current.lastFailureAt }
        : open(current, now, current.failures + 1)
    case "open":
      // No permit is ever issued while open, so no outcome belongs to this generation.
      return current
  }
}
