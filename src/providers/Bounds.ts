/**
 * Every upstream call is bounded: a non-streamed call by the total timeout; a stream by
 * the time to its first byte (status and headers), the silence between its events, and
 * the total. A bound that fires interrupts the call, which aborts the HTTP request.
 *
 * A non-streamed answer arrives whole, so its first byte is its last: only the total
 * bounds it, stretched to the time its completion budget takes at the slowest output rate
 * accepted (`completionBoundMs`), so that a long generation is not cut for being long.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { UpstreamTimeouts } from "../Config.ts"
import { type ProviderError, TimeoutReason } from "../domain/ProviderError.ts"
import type { Fail } from "./adapterSupport.ts"

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(3))} s`

const timedOut = (fail: Fail, message: string) => fail(new TimeoutReason({ message }))

/**
 * How long a non-streamed call of `budgetTokens` output tokens may take: `configuredMs`, or,
 * when longer, the first-byte allowance plus the budget at the slowest output rate accepted
 * (UPSTREAM_MIN_OUTPUT_TOKENS_PER_SECOND). A call that takes longer is slower than any healthy
 * provider we accept, which is why its timeout counts against the breaker.
 */
export const completionBoundMs = (configuredMs: number, timeouts: UpstreamTimeouts, budgetTokens: number): number =>
  Math.max(
    configuredMs,
    Duration.toMillis(timeouts.firstByte) + Math.ceil((budgetTokens * 1000) / timeouts.minOutputTokensPerSecond)
  )

/** A non-streamed call, bounded for its completion budget (`ProviderRequest.maxTokens`). */
export const boundCall = <A>(
  call: Effect.Effect<A, ProviderError>,
  timeouts: UpstreamTimeouts,
  fail: Fail,
  budgetTokens: number
): Effect.Effect<A, ProviderError> => {
  const boundMs = completionBoundMs(Duration.toMillis(timeouts.total), timeouts, budgetTokens)
  return Effect.timeoutOrElse(call, {
    duration: Duration.millis(boundMs),
    orElse: () => Effect.fail(timedOut(fail, `No answer within ${seconds(boundMs)}`))
  })
}

/**
 * `open` sends the request and resolves once the upstream answered with a stream; the
 * stream's resources (the request's abort controller) live in the scope it is given.
 */
export const boundStream = <A>(
  open: Effect.Effect<Stream.Stream<A, ProviderError>, ProviderError, Scope.Scope>,
  timeouts: UpstreamTimeouts,
  fail: Fail
): Stream.Stream<A, ProviderError> =>
  Stream.unwrap(
    Effect.map(
      Effect.timeoutOrElse(open, {
        duration: timeouts.firstByte,
        orElse: () =>
          Effect.fail(
            timedOut(fail, `The stream did not start within ${seconds(Duration.toMillis(timeouts.firstByte))}`)
          )
      }),
      Stream.timeoutOrElse({
        duration: timeouts.streamIdle,
        orElse: () =>
          Stream.fail(timedOut(fail, `The stream was silent for ${seconds(Duration.toMillis(timeouts.streamIdle))}`))
      })
    )
  ).pipe(
    Stream.interruptWhen(
      Effect.andThen(
        Effect.sleep(timeouts.total),
        Effect.fail(timedOut(fail, `The stream did not finish within ${seconds(Duration.toMillis(timeouts.total))}`))
      )
    )
  )
