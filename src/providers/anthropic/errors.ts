/**
 * What an Anthropic failure means. HTTP errors come with a status; an `event: error`
 * inside a stream has none, so the error `type` decides there (and refines a status).
 */
import { APIConnectionTimeoutError, APIError } from "@anthropic-ai/sdk"
import {
  AuthReason,
  BadRequestReason,
  NotFoundReason,
  OverloadedReason,
  type ProviderErrorReason,
  RateLimitedReason,
  TimeoutReason
} from "../../domain/ProviderError.ts"
import { reasonForStatus, retryAfterSeconds, thrownReason } from "../upstreamErrors.ts"

const byType = (type: string, message: string, retryAfter: number | undefined): ProviderErrorReason | undefined => {
  const wait = retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }
  switch (type) {
    case "invalid_request_error":
    case "request_too_large":
      return new BadRequestReason({ message })
    case "authentication_error":
      return new AuthReason({ message, status: 401 })
    case "permission_error":
      return new AuthReason({ message, status: 403 })
    case "billing_error":
      return new AuthReason({ message, status: 402 })
    case "not_found_error":
      return new NotFoundReason({ message })
    case "rate_limit_error":
      return new RateLimitedReason({ message, ...wait })
    case "overloaded_error":
      return new OverloadedReason({ message, status: 529, ...wait })
    case "api_error":
      return new OverloadedReason({ message, status: 500, ...wait })
    case "timeout_error":
      return new TimeoutReason({ message })
    default:
      return undefined
  }
}

export const anthropicReason = (error: unknown, nowMs: number): ProviderErrorReason => {
  if (error instanceof APIConnectionTimeoutError)
    return new TimeoutReason({ message: "Anthropic did not answer in time" })
  if (!(error instanceof APIError) || (error.status === undefined && error.type === null)) {
    return thrownReason(error, "Anthropic")
  }
  const message = error.apiMessage ?? error.message
  const retryAfter = retryAfterSeconds(error.headers, nowMs)
  const typed = error.type === null ? undefined : byType(error.type, message, retryAfter)
  if (typed !== undefined) return typed
  return error.status === undefined
    ? new OverloadedReason({ message, status: 500 })
    : reasonForStatus(error.status, message, { retryAfterSeconds: retryAfter })
}
