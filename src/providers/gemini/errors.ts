/**
 * What a Gemini failure means. Gemini says an invalid key with a 400 (`API_KEY_INVALID`),
 * which is our credentials, not the caller's request; a 429 may carry its wait in a
 * `google.rpc.RetryInfo` detail (`"retryDelay": "17s"`) rather than a header.
 */
import * as Result from "effect/Result"
import { AuthReason, type ProviderErrorReason } from "../../domain/ProviderError.ts"
import { decoder } from "../StreamTranslator.ts"
import { type ErrorAnswer, reasonForStatus, retryAfterSeconds } from "../upstreamErrors.ts"
import { ErrorBody } from "./wire.ts"

const decodeErrorBody = decoder(ErrorBody, "Gemini error")

const statusCodes: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  OUT_OF_RANGE: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 429,
  CANCELLED: 499,
  INTERNAL: 500,
  UNKNOWN: 500,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504
}

const detailValues = (body: ErrorBody | undefined, key: string): Array<unknown> =>
  (body?.error.details ?? []).map((detail) => detail[key]).filter((value) => value !== undefined)

const retryDelaySeconds = (body: ErrorBody | undefined): number | undefined => {
  for (const delay of detailValues(body, "retryDelay")) {
    const seconds = typeof delay === "string" ? Number(/^([\d.]+)s$/.exec(delay)?.[1]) : Number.NaN
    if (Number.isFinite(seconds)) return seconds
  }
  return undefined
}

/**
 * An error answer: an HTTP status, or an `{"error": …}` event inside a stream, where the body's
 * code stands in. A body that is not Gemini's (a proxy's HTML page) leaves the status to speak.
 */
export const geminiErrorReason = (answer: ErrorAnswer, nowMs: number): ProviderErrorReason => {
  const decoded = decodeErrorBody(answer.body)
  const body = Result.isSuccess(decoded) ? decoded.success : undefined
  const code = answer.status ?? body?.error.code ?? statusCodes[body?.error.status ?? ""] ?? 500
  const message = body?.error.message ?? `Gemini answered with HTTP ${code}`
  if (detailValues(body, "reason").includes("API_KEY_INVALID")) return new AuthReason({ message, status: code })
  return reasonForStatus(code, message, {
    retryAfterSeconds: retryAfterSeconds(answer.headers, nowMs) ?? retryDelaySeconds(body)
  })
}
