/**
 * A client that stops reading a stream must not keep the request alive: its fiber, its
 * buffers, its upstream call and its hold.
 *
 * The server writes a streamed body by pulling it (`@effect/platform-node` NodeHttpServer):
 * it writes each piece to the socket and pulls the next one at once, unless the socket's
 * buffer is full, in which case it first waits for the socket's `drain`, with no bound. So
 * the time from handing the writer a piece to its next pull is how long the write has
 * stalled. Waiting for an upstream that is silent is a pull in progress, never a stall: a
 * slow model with heartbeats off is not cut.
 *
 * A write stalled for longer than the limit ends the stream by interrupting the fiber that
 * writes it. The server then destroys the response (and so the socket and its buffers), and
 * the request's scope closes: the upstream call is aborted and the hold is settled on what
 * was metered, by the finalisers that own them.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"

export const boundWrites = <E, R>(
  body: Stream.Stream<Uint8Array, E, R>,
  options: {
    readonly timeoutMs: number
    /** Runs once, just before the stream is ended (to log and count it). */
    readonly onStall: Effect.Effect<void>
  }
): Stream.Stream<Uint8Array, E, R> =>
  Stream.transformPull(body, (pull, scope) =>
    Effect.clockWith((clock) =>
      Effect.withFiber((writer) => {
        // When the writer was handed its last piece; undefined while it is asking for the next one.
        let handedAt: number | undefined
        const watch = Effect.gen(function* () {
          while (true) {
            const now = clock.currentTimeMillisUnsafe()
            const since = handedAt
            if (since !== undefined && now - since >= options.timeoutMs) break
            yield* Effect.sleep(
              Duration.millis(since === undefined ? options.timeoutMs : since + options.timeoutMs - now)
            )
          }
          yield* options.onStall
          yield* Fiber.interrupt(writer)
        })
        const handed = Effect.map(pull, (pieces) => {
          handedAt = clock.currentTimeMillisUnsafe()
          return pieces
        })
        return Effect.as(
          Effect.forkIn(watch, scope),
          Effect.suspend(() => {
            handedAt = undefined
            return handed
          })
        )
      })
    )
  )
