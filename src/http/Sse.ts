/**
 * Server-Sent Events framing for OpenAI chunks, written as bytes directly: this is the
 * hottest path of the gateway, and schema-encoding each chunk halves its throughput.
 */
import { Cause, Effect, Stream } from "effect"
import type { ChatCompletionChunk } from "../domain/Chat.ts"
import { type ApiError, errorTypeOf, InternalError, isApiError, statusOf } from "../domain/errors.ts"

const encoder = new TextEncoder()

export const done = encoder.encode("data: [DONE]\n\n")

export const frame = (chunk: ChatCompletionChunk): Uint8Array => encoder.encode(`data: ${JSON.stringify(chunk)}\n\n`)

/** An OpenAI-style error event: the `openai` SDK throws an APIError with this message. */
export const errorFrame = (error: ApiError): Uint8Array =>
  encoder.encode(
    `data: ${JSON.stringify({ error: { message: error.message, type: errorTypeOf(error), param: error.param ?? null, code: statusOf(error) } })}\n\n`
  )

/** The client-facing error of a failed stream: its ApiError, or an internal error for a defect. */
export const failureOf = (cause: Cause.Cause<ApiError>): ApiError => {
  const error = Cause.squash(cause)
  return isApiError(error) ? error : new InternalError({ message: "The stream failed" })
}

export const isUsageChunk = (chunk: ChatCompletionChunk): boolean => chunk.choices.length === 0

/**
 * Frames a canonical chunk stream: drops the usage chunk unless the client asked for it,
 * turns a failure after the first byte into an error event, and always ends with [DONE].
 */
export const encode = <E>(
  chunks: Stream.Stream<ChatCompletionChunk, E>,
  options: {
    readonly includeUsage: boolean
    readonly onError: (cause: Cause.Cause<E>) => Effect.Effect<ApiError>
  }
): Stream.Stream<Uint8Array> => {
  const visible = options.includeUsage ? chunks : Stream.filter(chunks, (chunk) => !isUsageChunk(chunk))
  return Stream.map(visible, frame).pipe(
    Stream.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Stream.failCause(cause as Cause.Cause<never>)
        : Stream.fromEffect(Effect.map(options.onError(cause), errorFrame))
    ),
    Stream.concat(Stream.succeed(done))
  )
}
