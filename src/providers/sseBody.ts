/**
 * The Server-Sent Events of a streamed answer's body, read straight from the body (a Node
 * `Readable`): each pull takes what the body has buffered, decodes it and returns the events it
 * completed, waiting for the body only when that is none. It does what
 * `Stream.fromAsyncIterable(body)`, `Stream.decodeText()` and `Sse.decode()` do together (the
 * same parser; an event cut off by the end of the body is dropped; a `retry:` directive or an
 * event over the size limit fails the stream), without a promise, an iterator step and three
 * stream stages per piece of the body.
 *
 * A body that is left before its end (the stream was cut, or the caller stopped at its last
 * event) is destroyed, which aborts its request. The reason is made once: an error made per
 * stream captures a stack trace, a cost on every stream (undici makes one itself otherwise).
 */
import * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as Pull from "effect/Pull"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Channel from "effect/Channel"
import * as Sse from "effect/encoding/Sse"
import type { Readable } from "node:stream"

const leftBeforeItsEnd = new Error("The stream's reader left before its end")

/** Thrown by a body that closed before its end without an error of its own. */
const closedEarly = new Error("The stream closed before its end")

export const sseEvents = <E>(body: Readable, onError: (error: unknown) => E): Stream.Stream<Sse.Event, E> =>
  Stream.fromChannel(
    Channel.fromTransform((_, scope) =>
      Effect.map(
        Scope.addFinalizer(
          scope,
          Effect.sync(() => {
            if (!body.readableEnded && !body.destroyed) body.destroy(leftBeforeItsEnd)
          })
        ),
        () => {
          let events: Array<Sse.Event> = []
          let failure: { readonly error: unknown } | undefined
          // The body emitted its end; `done` once the decoder is flushed too.
          let bodyEnded = false
          let done = false
          let waiting: (() => void) | undefined
          const wake = () => {
            const resume = waiting
            waiting = undefined
            resume?.()
          }
          body.on("readable", wake)
          body.on("end", () => {
            bodyEnded = true
            wake()
          })
          body.on("error", (error) => {
            failure ??= { error }
            wake()
          })
          body.on("close", () => {
            if (!bodyEnded) failure ??= { error: closedEarly }
            wake()
          })
          const decoder = new TextDecoder()
          const streaming = { stream: true }
          const parser = Sse.makeParser((event) => {
            if (event._tag === "Retry") failure ??= { error: event }
            else events.push(event)
          })
          const feed = (text: string) => {
            const error = parser.feed(text)
            if (error !== undefined) failure ??= { error }
          }
          type EventsPull = Pull.Pull<Arr.NonEmptyReadonlyArray<Sse.Event>, E>
          const wait: EventsPull = Effect.callback((resume) => {
            waiting = () => resume(pull)
            return Effect.sync(() => {
              waiting = undefined
            })
          })
          const pull: EventsPull = Effect.suspend(() => {
            while (true) {
              if (Arr.isArrayNonEmpty(events)) {
                const out = events
                events = []
                return Effect.succeed(out)
              }
              if (failure !== undefined) return Effect.fail(onError(failure.error))
              if (done) return Cause.done()
              const bytes: Uint8Array | null = body.read()
              if (bytes !== null) {
                feed(decoder.decode(bytes, streaming))
              } else if (bodyEnded) {
                done = true
                feed(decoder.decode())
              } else {
                return wait
              }
            }
          })
          return pull
        }
      )
    )
  )
