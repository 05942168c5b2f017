import { Cause, Effect, Schedule } from "effect"

/**
 * Sweeps the holds whose owner stopped renewing them (a crashed or frozen process): once at
 * start-up, then every `intervalMs`. A failed sweep is logged and tried again at the next
 * interval; every sweep is bounded (its statements are, and so is how many holds it takes).
 */
export const sweepExpiredHolds = <E>(sweep: Effect.Effect<number, E>, intervalMs: number) =>
  sweep.pipe(
    Effect.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause) ? Effect.failCause(cause) : Effect.logWarning("Hold sweep failed", cause)
    ),
    Effect.repeat(Schedule.spaced(intervalMs))
  )
