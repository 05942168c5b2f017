/**
 * What an Anthropic error answer means (https://docs.anthropic.com/en/api/errors). The body
 * `{"type": "error", "error": {"type", "message"}}` names the error `type`, which decides,
 * refining the status; an `event: error` inside a stream has no status, so its type alone
 * decides there, and one without a type is a stream that broke.
 */
import {
  AuthReason,
  BadRequestReason,
  NotFoundReason,
  OverloadedReason,
  type ProviderErrorReason,
  RateLimitedReason,
  TimeoutReason,
  TransportReason
} from "../../domain/ProviderError.ts"
import { type ErrorAnswer, fallbackMessage, field, reasonForStatus, retryAfterSeconds } from "../upstreamErrors.ts"

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

export const anthropicErrorReason = (answer: ErrorAnswer, nowMs: number): ProviderErrorReason => {
  const { status, body } = answer
  const error = field(body, "error")
  const type = field(error, "type")
  const bodyMessage = field(error, "message")
  const message =
    typeof bodyMessage === "string" ? bodyMessage : fallbackMessage(status, body, body ? undefined : answer.text)
  if (status === undefined && typeof type !== "string") {
    return new TransportReason({ message: `Could not reach Anthropic (${message})` })
  }
  const retryAfter = retryAfterSeconds(answer.headers, nowMs)
  const typed = typeof type === "string" ? byType(type, message, retryAfter) : undefined
  if (typed !== undefined) return typed
  return status === undefined
    ? new OverloadedReason({ message, status: 500 })
    : reasonForStatus(status, message, { retryAfterSeconds: retryAfter })
}
