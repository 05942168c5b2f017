/**
 * The one mapping of upstream failures, in two halves. What every vendor shares lives here:
 * HTTP status → reason, `Retry-After`, failures to talk at all (connect timeouts among
 * them) and 2xx answers that are not JSON. What a vendor's error body says is its
 * `errors.ts`: one function from an `ErrorAnswer` to a reason, for the error answers of
 * `UpstreamHttp` and the error events inside a stream alike.
 */
import * as Result from "effect/Result"
import {
  AuthReason,
  BadRequestReason,
  NotFoundReason,
  OverloadedReason,
  ProtocolReason,
  type ProviderErrorReason,
  RateLimitedReason,
  TimeoutReason,
  TransportReason
} from "../domain/ProviderError.ts"

/** Response headers, as undici hands them over: lowercase names. */
export type UpstreamHeaders = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/** An upstream's answer that is an error: an HTTP status outside 2xx, or an error event inside a stream. */
export interface ErrorAnswer {
  /** Undefined for an error event inside a stream, whose HTTP status was already 2xx. */
  readonly status: number | undefined
  /** The body (or the event's data) as JSON; undefined when it is not JSON. */
  readonly body: unknown
  /** The body as sent, for the message when it is not JSON. */
  readonly text: string
  readonly headers: UpstreamHeaders
}

/** What a vendor's error answer means; `nowMs` resolves `Retry-After` dates. */
export type ErrorReasonOf = (answer: ErrorAnswer, nowMs: number) => ProviderErrorReason

const header = (headers: UpstreamHeaders, name: string): string | undefined => {
  const value = headers[name]
  return typeof value === "string" ? value : value?.[0]
}

/** Seconds to wait, from `retry-after-ms`, `retry-after` (seconds or an HTTP date); undefined when absent or nonsense. */
export const retryAfterSeconds = (headers: UpstreamHeaders, nowMs: number): number | undefined => {
  const milliseconds = Number(header(headers, "retry-after-ms"))
  if (Number.isFinite(milliseconds) && milliseconds > 0) return milliseconds / 1000
  const value = header(headers, "retry-after")?.trim()
  if (value === undefined || value === "") return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds : undefined
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, (date - nowMs) / 1000)
}

const withRetryAfter = (retryAfter: number | undefined) =>
  retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }

/** The reason an upstream HTTP status means, before any vendor-specific refinement. */
export const reasonForStatus = (
  status: number,
  message: string,
  options: { readonly retryAfterSeconds?: number | undefined; readonly param?: string | undefined } = {}
): ProviderErrorReason => {
  if (status === 401 || status === 402 || status === 403) return new AuthReason({ message, status })
  if (status === 404) return new NotFoundReason({ message })
  if (status === 408 || status === 504) return new TimeoutReason({ message })
  if (status === 429) return new RateLimitedReason({ message, ...withRetryAfter(options.retryAfterSeconds) })
  if (status === 409 || status >= 500) {
    return new OverloadedReason({ message, status, ...withRetryAfter(options.retryAfterSeconds) })
  }
  return options.param === undefined
    ? new BadRequestReason({ message })
    : new BadRequestReason({ message, param: options.param })
}

/** `value[key]` when value is an object. */
export const field = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined

/**
 * The message of an error whose body has no usable message, worded as the vendors' SDKs word
 * it (`APIError.makeMessage` of `openai` and `@anthropic-ai/sdk`): the status, then the
 * error's `message`, else the error as JSON, else the body's raw text.
 */
export const fallbackMessage = (status: number | undefined, error: unknown, text: string | undefined): string => {
  const inner = field(error, "message")
  const detail = inner
    ? typeof inner === "string"
      ? inner
      : JSON.stringify(inner)
    : error
      ? JSON.stringify(error)
      : text
  if (status && detail) return `${status} ${detail}`
  if (status) return `${status} status code (no body)`
  return detail || "(no status code or body)"
}

/** A body or event as JSON, when it is JSON. */
export const jsonOrUndefined = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * A successful answer (or stream event) as JSON. One that is not JSON is Protocol, not
 * retried: the upstream answered, and may bill for it.
 */
export const answerJson = (text: string, vendor: string): Result.Result<unknown, ProtocolReason> => {
  try {
    return Result.succeed(JSON.parse(text))
  } catch {
    return Result.fail(new ProtocolReason({ message: `${vendor} sent an answer that is not JSON` }))
  }
}

const causes = function* (error: unknown): Generator<unknown> {
  let current: unknown = error
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    yield current
    if (typeof current !== "object") return
    const next: unknown = (current as { cause?: unknown }).cause
    current = next === current ? undefined : next
  }
}

const isConnectTimeout = (error: unknown): boolean =>
  field(error, "code") === "UND_ERR_CONNECT_TIMEOUT" || field(error, "name") === "ConnectTimeoutError"

/**
 * A failure to talk to the upstream at all (no connection, a connection or body cut on its
 * way): a connect timeout is a Timeout, anything else Transport.
 */
export const transportReason = (error: unknown, vendor: string): TimeoutReason | TransportReason => {
  const chain = [...causes(error)]
  if (chain.some(isConnectTimeout)) return new TimeoutReason({ message: `Could not connect to ${vendor} in time` })
  const detail = chain
    .map((cause) => (cause instanceof Error ? cause.message : undefined))
    .filter((message) => message !== undefined && message !== "")
    .join(": ")
  return new TransportReason({ message: `Could not reach ${vendor}${detail === "" ? "" : ` (${detail})`}` })
}
