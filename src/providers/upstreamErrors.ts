/**
 * The parts of upstream error mapping every vendor shares: HTTP status → reason,
 * `Retry-After`, and transport failures (connect timeouts among them). The vendors'
 * `errors.ts` add what their bodies say.
 */
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

/** Headers as the SDKs (`Headers`) and undici (plain records) hand them over. */
export type HeaderSource = { readonly get: (name: string) => string | null } | Record<string, unknown> | undefined

const header = (headers: HeaderSource, name: string): string | undefined => {
  if (headers === undefined) return undefined
  if (typeof headers.get === "function")
    return (headers as { get: (name: string) => string | null }).get(name) ?? undefined
  const value = (headers as Record<string, unknown>)[name]
  return typeof value === "string" ? value : Array.isArray(value) ? String(value[0]) : undefined
}

/** Seconds to wait, from `retry-after-ms`, `retry-after` (seconds or an HTTP date); undefined when absent or nonsense. */
export const retryAfterSeconds = (headers: HeaderSource, nowMs: number): number | undefined => {
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
  return options.param === undefined || options.param === null
    ? new BadRequestReason({ message })
    : new BadRequestReason({ message, param: options.param })
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
  typeof error === "object" &&
  error !== null &&
  ((error as { code?: unknown }).code === "UND_ERR_CONNECT_TIMEOUT" ||
    (error as { name?: unknown }).name === "ConnectTimeoutError")

/** A failure to talk to the upstream at all: a connect timeout is a Timeout, anything else Transport. */
export const transportReason = (error: unknown, provider: string): TimeoutReason | TransportReason => {
  const chain = [...causes(error)]
  if (chain.some(isConnectTimeout)) return new TimeoutReason({ message: `Could not connect to ${provider} in time` })
  const detail = chain
    .map((cause) => (cause instanceof Error ? cause.message : undefined))
    .filter((message) => message !== undefined && message !== "")
    .join(": ")
  return new TransportReason({ message: `Could not reach ${provider}${detail === "" ? "" : ` (${detail})`}` })
}

/**
 * What a thrown failure that is not an HTTP error means. A SyntaxError is a 2xx body or
 * stream event that is not JSON (error bodies are read leniently, and a cut stream never
 * yields its unfinished event): the upstream answered, so it is a Protocol failure and
 * not retried. Anything else is a failure to talk to the upstream at all.
 */
export const thrownReason = (error: unknown, provider: string): ProtocolReason | TimeoutReason | TransportReason =>
  error instanceof SyntaxError
    ? new ProtocolReason({ message: `${provider} sent an answer that is not JSON` })
    : transportReason(error, provider)
