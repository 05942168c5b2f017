/**
 * The retry policy as one Effect `Schedule` fed with each failed attempt's error:
 *
 *   delay n = min(RETRY_MAX_DELAY, RETRY_BASE_DELAY × RETRY_EXPONENTIAL_BASE^n)   (n = 0 for the first retry)
 *
 * jittered to a uniform value in [delay/2, delay] when RETRY_JITTER is on (so the cap stays
 * a cap), and never shorter than the upstream's own `Retry-After`. It stops at once for
 * errors a retry cannot fix (the `ProviderError` reason decides), for a breaker that refuses
 * calls, for a `Retry-After` longer than RETRY_MAX_DELAY, after RETRY_MAX_ATTEMPTS attempts
 * in all, and when the wait would end at or past the request's deadline (no time would be left to try).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import type { GatewayConfigShape } from "../../Config.ts"
import { isRetryableReason, ProviderError } from "../../domain/ProviderError.ts"
import type { CircuitOpen } from "./CircuitBreakers.ts"

export type RetrySettings = GatewayConfigShape["resilience"]["retry"]

/** What one guarded attempt can fail with. */
export type AttemptFailure = ProviderError | CircuitOpen

export const isRetryable = (failure: AttemptFailure): failure is ProviderError =>
  failure instanceof ProviderError && isRetryableReason(failure.reason)

/** How long the upstream asked us to wait, when it said. */
export const retryAfterMs = (failure: AttemptFailure): number | undefined => {
  if (!(failure instanceof ProviderError)) return undefined
  const reason = failure.reason
  return (reason._tag === "RateLimited" || reason._tag === "Overloaded") && reason.retryAfterSeconds !== undefined
    ? reason.retryAfterSeconds * 1000
    : undefined
}

/** Retries to make after `deadline` (epoch milliseconds), the end of the request's upstream time. */
export const retrySchedule = (
  settings: RetrySettings,
  deadline: number
): Schedule.Schedule<Duration.Duration, AttemptFailure> => {
  const maxDelay = settings.maxDelay
  const backoff = Schedule.exponential(settings.baseDelay, settings.exponentialBase).pipe(
    Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, maxDelay)))
  )
  const jittered = settings.jitter
    ? backoff.pipe(
        Schedule.modifyDelay(({ duration }) =>
          Effect.map(Random.nextBetween(0.5, 1), (factor) => Duration.times(duration, factor))
        )
      )
    : backoff
  const maxAttempts = settings.enabled ? settings.maxAttempts : 1
  return jittered.pipe(
    Schedule.setInputType<AttemptFailure>(),
    Schedule.modifyDelay(({ input, duration }) => {
      const wish = retryAfterMs(input)
      return Effect.succeed(wish === undefined ? duration : Duration.max(duration, Duration.millis(wish)))
    }),
    Schedule.while(
      ({ input, attempt, duration, now }) =>
        attempt < maxAttempts &&
        isRetryable(input) &&
        (retryAfterMs(input) ?? 0) <= Duration.toMillis(settings.maxDelay) &&
        now + Duration.toMillis(duration) < deadline
    )
  )
}
