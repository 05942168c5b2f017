/**
 * Every upstream failure is one `ProviderError`; its `reason` alone decides whether a
 * retry may help, whether the circuit breaker counts it, and what the client sees.
 */
import { Schema } from "effect"
import { GatewayTimeout, ServiceUnavailable, ValidationError } from "./errors.ts"

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
  UnsupportedReason
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

/** Faults of the upstream service: retrying may help, and they count against its circuit breaker. */
export const isUpstreamFault = (reason: ProviderErrorReason): boolean => {
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

export const unavailableMessage = "LLM service temporarily unavailable"

/** What the client sees of an upstream failure (after retries and fallbacks). */
export const toApiError = (error: ProviderError): ServiceUnavailable | GatewayTimeout | ValidationError => {
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
  }
}
