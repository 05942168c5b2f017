import { Cause, Effect, Schedule } from "effect"

/**
 * Releases the holds of crashed processes: once at start-up, then every `intervalMs`. A
 * failed sweep is logged and retried at the next interval; every sweep is bounded (its
 * statements are, and so is how many holds it releases).
 */
export const sweepExpiredHolds = <E>(releaseExpired: Effect.Effect<number, E>, intervalMs: number) =>
  releaseExpired.pipe(
    Effect.tap((released) =>
      released > 0 ? Effect.logWarning(`Released ${released} expired holds (left by a crashed process)`) : Effect.void
    ),
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause) ? Effect.failCause(cause) : Effect.logWarning("Hold sweep failed", cause)
    ),
    Effect.repeat(Schedule.spaced(intervalMs))
  )
