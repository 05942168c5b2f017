/**
 * Every upstream call is bounded: a non-streamed call by the total timeout; a stream by
 * the time to its first byte (status and headers), the silence between its events, and
 * the total. A bound that fires aborts the HTTP request: a call's by interrupting it, a stream's
 * by closing the scope its request was opened in.
 *
 * A non-streamed answer arrives whole, so its first byte is its last: only the total
 * bounds it, stretched to the time its completion budget takes at the slowest output rate
 * accepted (`completionBoundMs`), so that a long generation is not cut for being long.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
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
 *
 * Opening is bounded by the time to first byte (or the total, when that is shorter). Once the
 * stream flows, its silence and its total are watched by one fiber per stream that sleeps until
 * the nearest deadline and compares timestamps when it wakes, rather than racing every read
 * against a timer: the race forks fibers and hands each event through a queue, the cost of a
 * stream being its events. A bound that fires closes the scope `open` ran in, which aborts the
 * request: the read waiting on it fails, and the stream fails with the bound's error. (Every
 * stream `open` returns reads an HTTP body that fails when its request is aborted.)
 */
export const boundStream = <A>(
  open: Effect.Effect<Stream.Stream<A, ProviderError>, ProviderError, Scope.Scope>,
  timeouts: UpstreamTimeouts,
  fail: Fail
): Stream.Stream<A, ProviderError> => {
  const firstByteMs = Duration.toMillis(timeouts.firstByte)
  const idleMs = Duration.toMillis(timeouts.streamIdle)
  const totalMs = Duration.toMillis(timeouts.total)
  const didNotFinish = () => timedOut(fail, `The stream did not finish within ${seconds(totalMs)}`)
  const opened = Effect.timeoutOrElse(open, {
    duration: Duration.millis(Math.min(firstByteMs, totalMs)),
    orElse: () =>
      Effect.fail(
        firstByteMs <= totalMs
          ? timedOut(fail, `The stream did not start within ${seconds(firstByteMs)}`)
          : didNotFinish()
      )
  })
  return Stream.unwrap(
    Effect.gen(function* () {
      const streamScope = yield* Effect.scope
      const clock = yield* Clock.Clock
      const finishBy = clock.currentTimeMillisUnsafe() + totalMs
      const upstreamScope = yield* Scope.fork(streamScope)
      const events = yield* Scope.provide(opened, upstreamScope)
      // When the read in progress started; undefined between reads (a consumer that is not reading is not silence).
      let readingSince: number | undefined
      let expired: ProviderError | undefined
      const watch = Effect.gen(function* () {
        while (true) {
          const now = clock.currentTimeMillisUnsafe()
          if (now >= finishBy) {
            expired = didNotFinish()
            break
          }
          const since = readingSince
          if (since !== undefined && now - since >= idleMs) {
            expired = timedOut(fail, `The stream was silent for ${seconds(idleMs)}`)
            break
          }
          const untilIdleBound = since === undefined ? idleMs : since + idleMs - now
          yield* Effect.sleep(Duration.millis(Math.min(untilIdleBound, finishBy - now)))
        }
        yield* Scope.close(upstreamScope, Exit.void)
      })
      yield* Effect.forkIn(watch, streamScope)
      return Stream.transformPull(events, (read) =>
        Effect.succeed(
          Effect.suspend(() => {
            if (expired !== undefined) return Effect.fail(expired)
            readingSince = clock.currentTimeMillisUnsafe()
            return Effect.matchCauseEffect(read, {
              onSuccess: (batch) => {
                readingSince = undefined
                return expired === undefined ? Effect.succeed(batch) : Effect.fail(expired)
              },
              onFailure: (cause) => (expired === undefined ? Effect.failCause(cause) : Effect.fail(expired))
            })
          })
        )
      )
    })
  )
}
