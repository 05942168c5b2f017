/**
 * Every upstream failure is one `ProviderError`; its `reason` alone decides whether a
 * retry may help, whether the circuit breaker counts it, and what the client sees.
 */
import * as Schema from "effect/Schema"
import { GatewayTimeout, ServiceUnavailable, UpstreamError, ValidationError } from "./errors.ts"

export class RateLimitedReason extends Schema.TaggedClass<RateLimitedReason>()("RateLimited", {
  message: Schema.String,
  retryAfterSeconds: Schema.optionalKey(Schema.Number)
}) {}
export class OverloadedReason extends Schema.TaggedClass<OverloadedReason>()("Overloaded", {
  message: Schema.String,
  status: Schema.Int,
  retryAfterSeconds: Schema.optionalKey(Schema.Number)
}) {}
export class TimeoutReason extends Schema.TaggedClass<TimeoutReason>()("Timeout", {
  message: Schema.String
}) {}
export class TransportReason extends Schema.TaggedClass<TransportReason>()("Transport", {
  message: Schema.String
}) {}
export class AuthReason extends Schema.TaggedClass<AuthReason>()("Auth", {
  message: Schema.String,
  status: Schema.Int
}) {}
export class BadRequestReason extends Schema.TaggedClass<BadRequestReason>()("BadRequest", {
  message: Schema.String,
  param: Schema.optionalKey(Schema.String)
}) {}
export class ContentFilteredReason extends Schema.TaggedClass<ContentFilteredReason>()("ContentFiltered", {
  message: Schema.String
}) {}
export class NotFoundReason extends Schema.TaggedClass<NotFoundReason>()("NotFound", {
  message: Schema.String
}) {}
/**
 * A successful answer that cannot be understood (undecodable, or usage that is not a
 * non-negative integer in range). The upstream did the work, so it is billed, and it is
 * never retried: each retry would be another paid call. `completionText` is what could be
 * read of the answer (content, tool-call names and arguments), for the tokenizer
 * estimate; in a stream, only what the failing event carried, since the chunks before it
 * were already delivered (and metered).
 */
export class ProtocolReason extends Schema.TaggedClass<ProtocolReason>()("Protocol", {
  message: Schema.String,
  completionText: Schema.optionalKey(Schema.String)
}) {}
/** Something the gateway cannot do with this provider (e.g. `n > 1` on Anthropic), found before calling it. */
export class UnsupportedReason extends Schema.TaggedClass<UnsupportedReason>()("Unsupported", {
  message: Schema.String,
  param: Schema.optionalKey(Schema.String)
}) {}

export const ProviderErrorReason = Schema.Union([
  RateLimitedReason,
  OverloadedReason,
  TimeoutReason,
  TransportReason,
  AuthReason,
  BadRequestReason,
  ContentFilteredReason,
  NotFoundReason,
  UnsupportedReason,
  ProtocolReason
])
export type ProviderErrorReason = typeof ProviderErrorReason.Type

export class ProviderError extends Schema.TaggedError<ProviderError>()("ProviderError", {
  provider: Schema.String,
  model: Schema.String,
  reason: ProviderErrorReason
}) {
  override get message(): string {
    return `${this.provider} (${this.model}): ${this.reason._tag}: ${this.reason.message}`
  }
}

/** Failures a retry may fix: the upstream was busy, slow or unreachable, and did no billable work. */
export const isRetryableReason = (reason: ProviderErrorReason): boolean => {
  switch (reason._tag) {
    case "RateLimited":
    case "Overloaded":
    case "Timeout":
    case "Transport":
      return true
    default:
      return false
  }
}

/** Faults of the upstream service, which count against its circuit breaker: the retryable ones and broken answers. */
export const isUpstreamFault = (reason: ProviderErrorReason): boolean =>
  isRetryableReason(reason) || reason._tag === "Protocol"

export const unavailableMessage = "LLM service temporarily unavailable"

/** What the client sees of an upstream failure (after retries and fallbacks). */
export const toApiError = (
  error: ProviderError
): ServiceUnavailable | GatewayTimeout | ValidationError | UpstreamError => {
  const reason = error.reason
  switch (reason._tag) {
    case "RateLimited":
    case "Overloaded":
      return reason.retryAfterSeconds === undefined
        ? new ServiceUnavailable({ message: unavailableMessage })
        : new ServiceUnavailable({
            message: unavailableMessage,
            retryAfterSeconds: Math.ceil(reason.retryAfterSeconds)
          })
    case "Timeout":
      return new GatewayTimeout({ message: "The upstream LLM service did not answer in time" })
    case "Transport":
    case "Auth":
    case "NotFound":
      return new ServiceUnavailable({ message: unavailableMessage })
    case "BadRequest":
    case "Unsupported":
      return reason.param === undefined
        ? new ValidationError({ message: reason.message })
        : new ValidationError({ message: reason.message, param: reason.param })
    case "ContentFiltered":
      return new ValidationError({ message: reason.message })
    case "Protocol":
      return new UpstreamError({
        message: `The upstream LLM service sent an answer the gateway cannot use: ${reason.message}`
      })
  }
}
