/**
 * What an OpenAI error answer means (https://platform.openai.com/docs/guides/error-codes).
 * Most follow the HTTP status; the body `{"error": {message, type, param, code}}` refines
 * it: a 429 `insufficient_quota` is our account being empty (retrying cannot help), a
 * content policy refusal is the request's fault. An `{"error": …}` event inside a stream has
 * no status, so its `type` decides. A compatible server may send any body: the status then
 * speaks alone, with the body's text as the message.
 */
import {
  AuthReason,
  BadRequestReason,
  ContentFilteredReason,
  OverloadedReason,
  type ProviderErrorReason,
  RateLimitedReason
} from "../../domain/ProviderError.ts"
import { type ErrorAnswer, fallbackMessage, field, reasonForStatus, retryAfterSeconds } from "../upstreamErrors.ts"

const contentPolicyCodes = new Set(["content_filter", "content_policy_violation"])

const stringOrUndefined = (value: unknown) => (typeof value === "string" ? value : undefined)

export const openaiErrorReason = (answer: ErrorAnswer, nowMs: number): ProviderErrorReason => {
  const { status, body } = answer
  const json = typeof body === "object" && body !== null ? body : undefined
  const error = field(json, "error")
  const bodyMessage = field(error, "message")
  const message =
    typeof bodyMessage === "string" && bodyMessage !== ""
      ? bodyMessage
      : fallbackMessage(status, error, json === undefined ? answer.text : undefined)
  const code = field(error, "code")
  const type = field(error, "type")
  if (code === "insufficient_quota" || type === "insufficient_quota") {
    return new AuthReason({ message, status: status ?? 429 })
  }
  if (typeof code === "string" && contentPolicyCodes.has(code)) return new ContentFilteredReason({ message })
  if (status === undefined) {
    // An error event inside a stream.
    if (type === "invalid_request_error") return new BadRequestReason({ message })
    if (type === "rate_limit_exceeded" || code === "rate_limit_exceeded") return new RateLimitedReason({ message })
    return new OverloadedReason({ message, status: 500 })
  }
  return reasonForStatus(status, message, {
    retryAfterSeconds: retryAfterSeconds(answer.headers, nowMs),
    param: stringOrUndefined(field(error, "param"))
  })
}
