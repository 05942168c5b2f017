/**
 * Server-Sent Events framing for OpenAI chunks, written as bytes directly: this is the
 * hottest path of the gateway, and schema-encoding each chunk halves its throughput.
 */
import * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Pull from "effect/Pull"
import * as Stream from "effect/Stream"
import type { ChatCompletionChunk } from "../domain/Chat.ts"
import { type ApiError, InternalError, isApiError } from "../domain/errors.ts"
import { toWire } from "./Errors.ts"

const encoder = new TextEncoder()

export const done = encoder.encode("data: [DONE]\n\n")

/** An SSE comment: every SSE client skips it, and it keeps proxies from closing an idle connection. */
export const keepAlive = encoder.encode(": keep-alive\n\n")

export const frame = (chunk: ChatCompletionChunk): Uint8Array => encoder.encode(`data: ${JSON.stringify(chunk)}\n\n`)

/**
 * An error event: the body an error response would have, so its `error` object is OpenAI's (the `openai` SDK
 * throws an APIError with its message) and its `code` the status the response would have had.
 */
export const errorFrame = (error: ApiError): Uint8Array => encoder.encode(`data: ${JSON.stringify(toWire(error))}\n\n`)

/** The client-facing error of a failed stream: its ApiError, or an internal error for a defect. */
export const failureOf = (cause: Cause.Cause<ApiError>): ApiError => {
  const error = Cause.squash(cause)
  return isApiError(error) ? error : new InternalError({ message: "The stream failed" })
}

/** A chunk with no choices: it carries the usage known so far (cumulative), and nothing else. */
export const isUsageChunk = (chunk: ChatCompletionChunk): boolean => chunk.choices.length === 0

/**
 * Sends a keep-alive comment (or the protocol's own `beat`, such as Anthropic's `ping` event) whenever the
 * body has been silent for `intervalMs` (0: never), also while the upstream has not produced its first token yet.
 *
 * A beat must go out while a read of the body waits, so the body is read by a fiber of its own, one read
 * ahead of the writer, and each read is handed straight to the writer's pull when it waits for one. A second
 * fiber sleeps until the silence would reach the interval and compares timestamps when it wakes; it sends a
 * beat only if the writer is still waiting. (`Stream.merge` of the body with a stream of beats did the same
 * with a queue and a fiber hand-off more per piece; this is one resumption per piece.)
 */
export const withHeartbeat = (
  body: Stream.Stream<Uint8Array>,
  intervalMs: number,
  beat: Uint8Array = keepAlive
): Stream.Stream<Uint8Array> =>
  intervalMs <= 0
    ? body
    : Stream.transformPull(body, (read, scope) =>
        Effect.clockWith((clock) => {
          type Piece = Exit.Exit<Arr.NonEmptyReadonlyArray<Uint8Array>, Cause.Done>
          const beats: Arr.NonEmptyReadonlyArray<Uint8Array> = [beat]
          let lastSent = clock.currentTimeMillisUnsafe()
          // A read the writer has not taken yet; the reader waits (`readerWaits`) until it is taken.
          let unread: Piece | undefined
          let readerWaits: (() => void) | undefined
          // The writer's pull, while it waits for a piece.
          let writerWaits: ((piece: Piece) => void) | undefined
          const hand = (piece: Piece) => {
            const resume = writerWaits!
            writerWaits = undefined
            lastSent = clock.currentTimeMillisUnsafe()
            resume(piece)
          }
          const reader = Effect.gen(function* () {
            while (true) {
              const piece = yield* Effect.exit(read)
              if (writerWaits !== undefined) {
                hand(piece)
              } else {
                unread = piece
                yield* Effect.callback<void>((resume) => {
                  readerWaits = () => resume(Effect.void)
                })
              }
              if (Exit.isFailure(piece)) return
            }
          })
          const beater = Effect.gen(function* () {
            while (true) {
              const wait = lastSent + intervalMs - clock.currentTimeMillisUnsafe()
              if (wait > 0) {
                yield* Effect.sleep(Duration.millis(wait))
              } else if (writerWaits !== undefined) {
                hand(Exit.succeed(beats))
              } else {
                // The writer is writing: if it comes back to a silence that has lasted, its pull sends the beat.
                yield* Effect.sleep(Duration.millis(intervalMs))
              }
            }
          })
          const write: Effect.Effect<Arr.NonEmptyReadonlyArray<Uint8Array>, Cause.Done> = Effect.suspend(() => {
            if (unread !== undefined) {
              const piece = unread
              const resumeReader = readerWaits
              unread = undefined
              readerWaits = undefined
              lastSent = clock.currentTimeMillisUnsafe()
              resumeReader?.()
              return piece
            }
            if (clock.currentTimeMillisUnsafe() - lastSent >= intervalMs) {
              lastSent = clock.currentTimeMillisUnsafe()
              return Effect.succeed(beats)
            }
            return Effect.callback<Arr.NonEmptyReadonlyArray<Uint8Array>, Cause.Done>((resume) => {
              writerWaits = resume
              return Effect.sync(() => {
                writerWaits = undefined
              })
            })
          })
          return Effect.as(Effect.andThen(Effect.forkIn(reader, scope), Effect.forkIn(beater, scope)), write)
        })
      )

/**
 * Frames a chunk stream in one stage (a stage is paid on every pull): `frames` turns each batch of chunks into
 * frames (perhaps none), `last` gives the frames after the last chunk, and a failure becomes the frames of
 * `failed` (the protocol's error event), which end the stream; an interruption (a client that left) stays one.
 */
export const frameChunks = <E>(
  chunks: Stream.Stream<ChatCompletionChunk, E>,
  options: {
    readonly frames: (batch: Arr.NonEmptyReadonlyArray<ChatCompletionChunk>) => ReadonlyArray<Uint8Array>
    readonly last: () => ReadonlyArray<Uint8Array>
    readonly failed: (error: ApiError) => Arr.NonEmptyReadonlyArray<Uint8Array>
    readonly onError: (cause: Cause.Cause<E>) => Effect.Effect<ApiError>
  }
): Stream.Stream<Uint8Array> =>
  Stream.transformPull(chunks, (pull) =>
    Effect.sync(() => {
      let ended = false
      const end = (frames: Arr.NonEmptyReadonlyArray<Uint8Array>) => {
        ended = true
        return Effect.succeed(frames)
      }
      const failed = (cause: Cause.Cause<E>) =>
        Effect.flatMap(options.onError(cause), (error) => end(options.failed(error)))
      // A frame that cannot be made (a defect) is told as a failure too, as when it was made in a stage before.
      const framing = (make: () => ReadonlyArray<Uint8Array>): Pull.Pull<Arr.NonEmptyReadonlyArray<Uint8Array>> => {
        let frames: ReadonlyArray<Uint8Array>
        try {
          frames = make()
        } catch (defect) {
          return failed(Cause.die(defect))
        }
        return Arr.isReadonlyArrayNonEmpty(frames) ? Effect.succeed(frames) : pullFrames
      }
      const next: Pull.Pull<Arr.NonEmptyReadonlyArray<Uint8Array>> = Effect.matchCauseEffect(pull, {
        onSuccess: (batch) => framing(() => options.frames(batch)),
        onFailure: (cause) => {
          if (Pull.isDoneCause(cause)) {
            ended = true
            return framing(options.last)
          }
          if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
          return failed(cause as Cause.Cause<E>)
        }
      })
      const pullFrames: Pull.Pull<Arr.NonEmptyReadonlyArray<Uint8Array>> = Effect.suspend(() =>
        ended ? Cause.done() : next
      )
      return pullFrames
    })
  )

/**
 * Frames a canonical chunk stream: turns a failure after the first byte into an error event,
 * always ends with [DONE], and fills silences with heartbeats.
 *
 * The canonical stream may carry several usage chunks (each with the cumulative usage known so
 * far, so that a cut stream is metered on the latest); the last one of a stream that ended
 * normally is the final usage. Clients get only that one, just before [DONE], and only when
 * they asked for it (`stream_options.include_usage`), as OpenAI sends it; a failed stream
 * has no final usage, so none is sent.
 */
export const encode = <E>(
  chunks: Stream.Stream<ChatCompletionChunk, E>,
  options: {
    readonly includeUsage: boolean
    readonly heartbeatMs: number
    readonly onError: (cause: Cause.Cause<E>) => Effect.Effect<ApiError>
  }
): Stream.Stream<Uint8Array> => {
  const framed = Stream.suspend(() => {
    let lastUsage: ChatCompletionChunk | undefined
    return frameChunks(chunks, {
      frames: (batch) => {
        const frames: Array<Uint8Array> = []
        for (const chunk of batch) {
          if (isUsageChunk(chunk)) lastUsage = chunk
          else frames.push(frame(chunk))
        }
        return frames
      },
      last: () => (options.includeUsage && lastUsage !== undefined ? [frame(lastUsage), done] : [done]),
      failed: (error) => [errorFrame(error), done],
      onError: options.onError
    })
  })
  return withHeartbeat(framed, options.heartbeatMs)
}
