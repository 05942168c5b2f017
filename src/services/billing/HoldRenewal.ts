/**
 * When a live request renews its hold. A renewal moves the hold's expiry to a TTL after the renewal
 * started; the next one is due a third of the TTL after the start of the last renewal that landed
 * (not after the last attempt), and a renewal that fails (the database down or slow) is tried again
 * every `retryDelay` until one lands. So a live request's hold expires only when no renewal reaches the
 * database for two thirds of the TTL, however long each failed attempt took.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"

export interface RenewalTimes {
  /** A third of the hold TTL. */
  readonly every: Duration.Duration
  /** The pause between a failed renewal and the next attempt. */
  readonly retryDelay: Duration.Duration
}

/**
 * Renews until a renewal finds the hold gone (`renew` succeeds with false), then runs `onLost`. Starts as
 * the hold is made (its expiry is about a TTL from now) and runs until interrupted.
 */
export const keepRenewing = <E>(
  renew: Effect.Effect<boolean, E>,
  times: RenewalTimes,
  onLost: Effect.Effect<void>
): Effect.Effect<void> =>
  Effect.gen(function* () {
    const everyMs = Duration.toMillis(times.every)
    let landedAt = yield* Clock.currentTimeMillis
    while (true) {
      const now = yield* Clock.currentTimeMillis
      if (landedAt + everyMs > now) yield* Effect.sleep(Duration.millis(landedAt + everyMs - now))
      const startedAt = yield* Clock.currentTimeMillis
      const renewed = yield* Effect.result(renew)
      if (Result.isFailure(renewed)) {
        yield* Effect.sleep(times.retryDelay)
        continue
      }
      if (!renewed.success) return yield* onLost
      landedAt = startedAt
    }
  })
