/**
 * What an OpenAI failure means. Most follow the HTTP status; the body refines it: a 429
 * `insufficient_quota` is our account being empty (retrying cannot help), a content
 * policy refusal is the request's fault. An `{"error": …}` event inside a stream has no
 * status, so its `type` decides.
 */
import type * as Sdk from "openai"
import {
  AuthReason,
  BadRequestReason,
  ContentFilteredReason,
  OverloadedReason,
  type ProviderErrorReason,
  RateLimitedReason,
  TimeoutReason
} from "../../domain/ProviderError.ts"
import { reasonForStatus, retryAfterSeconds, thrownReason } from "../upstreamErrors.ts"

/**
 * The SDK's error classes, once the SDK is loaded. Plain calls never load it (it is about 8 MB of
 * resident memory); OpenAIHttp loads it with its first failure, through `openaiSdk`, and only the
 * SDK makes SDK errors: until it is loaded, no error can be one.
 */
let sdk: Pick<typeof Sdk, "APIError" | "APIConnectionTimeoutError"> | undefined

/** The SDK, loaded on first use (the module loader keeps it). */
export const openaiSdk = async (): Promise<typeof Sdk> => {
  const loaded = await import("openai")
  sdk = loaded
  return loaded
}

const contentPolicyCodes = new Set(["content_filter", "content_policy_violation"])

const bodyMessage = (error: Sdk.APIError): string => {
  const body: unknown = error.error
  const message = typeof body === "object" && body !== null ? (body as { message?: unknown }).message : undefined
  return typeof message === "string" && message !== "" ? message : error.message
}

export const openaiReason = (error: unknown, nowMs: number): ProviderErrorReason => {
  if (sdk === undefined) return thrownReason(error, "OpenAI")
  if (error instanceof sdk.APIConnectionTimeoutError) {
    return new TimeoutReason({ message: "OpenAI did not answer in time" })
  }
  if (!(error instanceof sdk.APIError) || (error.status === undefined && error.error === undefined)) {
    return thrownReason(error, "OpenAI")
  }
  const message = bodyMessage(error)
  if (error.code === "insufficient_quota" || error.type === "insufficient_quota") {
    return new AuthReason({ message, status: error.status ?? 429 })
  }
  if (typeof error.code === "string" && contentPolicyCodes.has(error.code))
    return new ContentFilteredReason({ message })
  if (error.status === undefined) {
    // An error event inside a stream.
    if (error.type === "invalid_request_error") return new BadRequestReason({ message })
    if (error.type === "rate_limit_exceeded" || error.code === "rate_limit_exceeded") {
      return new RateLimitedReason({ message })
    }
    return new OverloadedReason({ message, status: 500 })
  }
  return reasonForStatus(error.status, message, {
    retryAfterSeconds: retryAfterSeconds(error.headers, nowMs),
    param: error.param ?? undefined
  })
}
