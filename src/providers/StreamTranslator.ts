/**
 * Streams are translated by a reducer: each upstream event folds into a small state and
 * yields zero or more canonical chunks; the end of the upstream may yield the last ones
 * (the usage chunk) or reveal that the stream was cut. Vendors write the reducer as pure
 * functions; this module runs it, once over a whole batch of events per pull.
 */
import * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Pull from "effect/Pull"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { ChatCompletionChunk } from "../domain/Chat.ts"
import { type ProviderError, type ProviderErrorReason, ProtocolReason } from "../domain/ProviderError.ts"

export type Step<S> = readonly [state: S, chunks: ReadonlyArray<ChatCompletionChunk>]

export interface StreamTranslator<Event, S> {
  readonly initial: S
  /** Folds one upstream event in; a failure (an error event, an undecodable event) ends the stream. */
  readonly step: (state: S, event: Event) => Result.Result<Step<S>, ProviderErrorReason>
  /** The upstream ended: the last chunks, or why the answer is incomplete. */
  readonly end: (state: S) => Result.Result<ReadonlyArray<ChatCompletionChunk>, ProviderErrorReason>
}

/** Runs a translator over recorded events; for tests and fixtures. */
export const translateAll = <Event, S>(
  translator: StreamTranslator<Event, S>,
  events: Iterable<Event>
): Result.Result<ReadonlyArray<ChatCompletionChunk>, ProviderErrorReason> => {
  let state = translator.initial
  const out: Array<ChatCompletionChunk> = []
  for (const event of events) {
    const result = translator.step(state, event)
    if (Result.isFailure(result)) return Result.fail(result.failure)
    state = result.success[0]
    out.push(...result.success[1])
  }
  return Result.map(translator.end(state), (last) => [...out, ...last])
}

export const translateStream = <Event, S>(
  events: Stream.Stream<Event, ProviderError>,
  translator: StreamTranslator<Event, S>,
  fail: (reason: ProviderErrorReason) => ProviderError
): Stream.Stream<ChatCompletionChunk, ProviderError> =>
  Stream.transformPull(events, (pull) =>
    Effect.sync(() => {
      let state = translator.initial
      let ended = false
      // A failure met halfway through a batch waits until the chunks before it are out.
      let pending: ProviderErrorReason | undefined
      const upstreamEnded = Symbol()
      const pullBatch = Pull.catchDone(pull, () => Effect.succeed(upstreamEnded))
      const translateBatch = (batch: ReadonlyArray<Event>): Array<ChatCompletionChunk> => {
        const out: Array<ChatCompletionChunk> = []
        for (const event of batch) {
          const result = translator.step(state, event)
          if (Result.isFailure(result)) {
            pending = result.failure
            break
          }
          state = result.success[0]
          for (const chunk of result.success[1]) out.push(chunk)
        }
        return out
      }
      return Effect.gen(function* () {
        while (pending === undefined && !ended) {
          const batch = yield* pullBatch
          let out: ReadonlyArray<ChatCompletionChunk>
          if (batch === upstreamEnded) {
            ended = true
            const last = translator.end(state)
            if (Result.isFailure(last)) pending = last.failure
            out = Result.isSuccess(last) ? last.success : []
          } else {
            out = translateBatch(batch)
          }
          if (Arr.isReadonlyArrayNonEmpty(out)) return out
        }
        if (pending !== undefined) return yield* Effect.fail(fail(pending))
        return yield* Cause.done()
      })
    })
  )

/**
 * What an adapter makes of one upstream event: its value, `undefined` to skip it, or a failure as an
 * effect (an error event's meaning may depend on the clock: a retry-after deadline).
 */
export type EventDecoding<A> = Result.Result<A, Effect.Effect<never, ProviderError>> | undefined

/**
 * Decodes the events a batch at a time, as the body delivered them (`Stream.mapEffect` would send each
 * event through every later stage on its own); a failure ends the stream after the events before it.
 */
export const decodeEvents = <Event, A>(
  events: Stream.Stream<Event, ProviderError>,
  decode: (event: Event) => EventDecoding<A>
): Stream.Stream<A, ProviderError> =>
  Stream.transformPull(events, (pull) =>
    Effect.sync(() => {
      let failure: Effect.Effect<never, ProviderError> | undefined
      const next: Pull.Pull<Arr.NonEmptyReadonlyArray<A>, ProviderError> = Effect.flatMap(pull, (batch) => {
        const out: Array<A> = []
        for (const event of batch) {
          const decoded = decode(event)
          if (decoded === undefined) continue
          if (Result.isFailure(decoded)) {
            failure = decoded.failure
            break
          }
          out.push(decoded.success)
        }
        return Arr.isArrayNonEmpty(out) ? Effect.succeed(out) : (failure ?? next)
      })
      return Effect.suspend(() => failure ?? next)
    })
  )

/**
 * A decoder for the untrusted JSON of a successful answer. Its failure is a Protocol reason
 * naming what was malformed: the upstream answered (and may bill), so it is not retried.
 */
export const decoder = <S extends Schema.Codec<unknown, unknown>>(schema: S, what: string) => {
  const decode = Schema.decodeUnknownResult(schema as Schema.Codec<S["Type"], unknown>)
  return (input: unknown): Result.Result<S["Type"], ProtocolReason> =>
    Result.mapError(
      decode(input),
      (error) => new ProtocolReason({ message: `Malformed ${what} from upstream: ${error.message}` })
    )
}
