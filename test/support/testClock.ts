/**
 * Runs an effect on the TestClock and reports when, in virtual time, it ended: the exact
 * instant of a timeout, of the last retry, of a fallback's answer.
 */
import { Clock, Duration, Effect, Fiber, type Result } from "effect"
import { TestClock } from "effect/testing"

export interface Ended<A, E> {
  readonly result: Result.Result<A, E>
  /** Clock milliseconds (the TestClock starts at 0). */
  readonly endedAt: number
}

/** Forks `effect`, moves the clock by `advance` (an hour unless told), and waits for its end. */
export const runToEnd = <A, E, R>(effect: Effect.Effect<A, E, R>, advance: Duration.Input = Duration.hours(1)) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(
      Effect.result(effect).pipe(
        Effect.flatMap((result) => Effect.map(Clock.currentTimeMillis, (endedAt): Ended<A, E> => ({ result, endedAt })))
      )
    )
    yield* TestClock.adjust(advance)
    return yield* Fiber.join(fiber)
  })

/** The failure of a result, or a thrown error naming what it succeeded with. */
export const failureOf = <A, E>(result: Result.Result<A, E>): E => {
  if (result._tag === "Success") throw new Error(`expected a failure, got ${JSON.stringify(result.success)}`)
  return result.failure
}

export const successOf = <A, E>(result: Result.Result<A, E>): A => {
  if (result._tag === "Failure") throw new Error(`expected a success, got ${String(result.failure)}`)
  return result.success
}
