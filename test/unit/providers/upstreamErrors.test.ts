/**
 * Upstream failures → ProviderError reasons: the reason alone decides retries and what
 * the client sees, so each vendor's way of saying "slow down", "overloaded", "your key"
 * or "your request" must land on the right one.
 */
import * as Undici from "@effect/platform-node/Undici"
import { describe, expect, it } from "vitest"
import { ProviderError, toApiError } from "../../../src/domain/ProviderError.ts"
import { anthropicErrorReason } from "../../../src/providers/anthropic/errors.ts"
import { openaiErrorReason } from "../../../src/providers/openai/errors.ts"
import {
  answerJson,
  reasonForStatus,
  retryAfterSeconds,
  transportReason
} from "../../../src/providers/upstreamErrors.ts"
import { errorAnswer } from "../../support/errorAnswer.ts"
import { failure } from "../../support/result.ts"

const now = Date.parse("2026-11-20T12:00:00Z")

describe("Retry-After", () => {
  it("reads retry-after-ms, seconds, and HTTP dates", () => {
    expect(retryAfterSeconds({ "retry-after-ms": "1500", "retry-after": "9" }, now)).toBe(1.5)
    expect(retryAfterSeconds({ "retry-after": "7" }, now)).toBe(7)
    expect(retryAfterSeconds({ "retry-after": ["7", "8"] }, now)).toBe(7)
    expect(retryAfterSeconds({ "retry-after": "Fri, 20 Nov 2026 12:00:30 GMT" }, now)).toBe(30)
    expect(retryAfterSeconds({ "retry-after": "soon" }, now)).toBeUndefined()
    expect(retryAfterSeconds({}, now)).toBeUndefined()
  })
})

describe("status → reason", () => {
  it.each([
    [400, "BadRequest"],
    [401, "Auth"],
    [402, "Auth"],
    [403, "Auth"],
    [404, "NotFound"],
    [408, "Timeout"],
    [409, "Overloaded"],
    [413, "BadRequest"],
    [422, "BadRequest"],
    [429, "RateLimited"],
    [500, "Overloaded"],
    [502, "Overloaded"],
    [503, "Overloaded"],
    [504, "Timeout"],
    [529, "Overloaded"]
  ])("%i is %s", (status, tag) => {
    expect(reasonForStatus(status, "x")._tag).toBe(tag)
  })

  it("client-facing: request problems are 400 with the upstream message, outages 503 with Retry-After, timeouts 504", () => {
    const error = (status: number, retryAfterSeconds?: number) =>
      toApiError(
        new ProviderError({
          provider: "openai",
          model: "gpt-4",
          reason: reasonForStatus(status, "upstream says no", { retryAfterSeconds })
        })
      )
    expect(error(400)).toMatchObject({ _tag: "ValidationError", message: "upstream says no" })
    expect(error(401)).toMatchObject({ _tag: "ServiceUnavailable" })
    expect(error(429, 2.2)).toMatchObject({ _tag: "ServiceUnavailable", retryAfterSeconds: 3 })
    expect(error(529)).toMatchObject({ _tag: "ServiceUnavailable" })
    expect(error(504)).toMatchObject({ _tag: "GatewayTimeout" })
  })
})

const openaiError = (status: number, body: object, headers: Record<string, string> = {}) =>
  openaiErrorReason(errorAnswer(status, body, headers), now)
/** An `{"error": …}` event of a stream: no status. */
const openaiStreamError = (error: object) => openaiErrorReason(errorAnswer(undefined, { error }), now)

describe("OpenAI errors", () => {
  it("uses the body's message, param and Retry-After", () => {
    const reason = openaiError(400, {
      error: { message: "Invalid 'messages[1]'", type: "invalid_request_error", param: "messages", code: null }
    })
    expect(reason).toMatchObject({ _tag: "BadRequest", message: "Invalid 'messages[1]'", param: "messages" })
    const limited = openaiError(
      429,
      { error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } },
      { "retry-after": "18" }
    )
    expect(limited).toMatchObject({ _tag: "RateLimited", retryAfterSeconds: 18 })
  })

  it("an empty quota is our account, never worth a retry; a content policy refusal is the request's", () => {
    const quota = openaiError(429, {
      error: { message: "You exceeded your current quota", type: "insufficient_quota", code: "insufficient_quota" }
    })
    expect(quota).toMatchObject({ _tag: "Auth", status: 429 })
    const policy = openaiError(400, {
      error: { message: "flagged", type: "invalid_request_error", code: "content_policy_violation" }
    })
    expect(policy._tag).toBe("ContentFiltered")
  })

  it("a body that is not OpenAI's: the status speaks, with the text as its SDK words it", () => {
    const text = (status: number, body: string) =>
      openaiErrorReason({ status, body: undefined, text: body, headers: {} }, now)
    expect(text(400, "Bad Request")).toMatchObject({ _tag: "BadRequest", message: "400 Bad Request" })
    expect(text(503, "")).toMatchObject({ _tag: "Overloaded", message: "503 status code (no body)" })
    expect(openaiError(401, { detail: "no" })).toMatchObject({ _tag: "Auth", message: "401 status code (no body)" })
  })

  it("connection failures are Transport, connect timeouts Timeout, and an error event in a stream Overloaded", () => {
    expect(
      transportReason(new TypeError("fetch failed", { cause: new Error("ECONNREFUSED") }), "OpenAI")
    ).toMatchObject({ _tag: "Transport", message: "Could not reach OpenAI (fetch failed: ECONNREFUSED)" })
    expect(transportReason(new Undici.errors.ConnectTimeoutError(), "OpenAI")._tag).toBe("Timeout")
    expect(openaiStreamError({ message: "The server had an error", type: "server_error" })).toMatchObject({
      _tag: "Overloaded",
      status: 500
    })
  })
})

const body = (type: string) => ({ type: "error", error: { type, message: `${type} happened` } })
const anthropicError = (status: number, type: string, headers: Record<string, string> = {}) =>
  anthropicErrorReason(errorAnswer(status, body(type), headers), now)
/** An `event: error` of a stream: no status, the type from the body. */
const anthropicStreamError = (type: string) => anthropicErrorReason(errorAnswer(undefined, body(type)), now)

describe("Anthropic errors", () => {
  it.each([
    [400, "invalid_request_error", "BadRequest"],
    [401, "authentication_error", "Auth"],
    [402, "billing_error", "Auth"],
    [403, "permission_error", "Auth"],
    [404, "not_found_error", "NotFound"],
    [429, "rate_limit_error", "RateLimited"],
    [500, "api_error", "Overloaded"],
    [504, "timeout_error", "Timeout"],
    [529, "overloaded_error", "Overloaded"]
  ])("%i %s is %s, with the body's message", (status, type, tag) => {
    expect(anthropicError(status, type)).toMatchObject({ _tag: tag, message: `${type} happened` })
  })

  it("an overload keeps its 529 and Retry-After; an error event inside a stream is read by its type", () => {
    expect(anthropicError(529, "overloaded_error", { "retry-after": "4" })).toMatchObject({
      status: 529,
      retryAfterSeconds: 4
    })
    expect(anthropicStreamError("overloaded_error")).toMatchObject({ _tag: "Overloaded" })
    expect(anthropicStreamError("rate_limit_error")).toMatchObject({ _tag: "RateLimited" })
  })

  it("a body without a type: the status speaks; an error event without one is a broken stream", () => {
    expect(anthropicErrorReason(errorAnswer(503, { detail: "down" }), now)).toMatchObject({
      _tag: "Overloaded",
      message: '503 {"detail":"down"}'
    })
    expect(anthropicErrorReason(errorAnswer(undefined, { oops: true }), now)._tag).toBe("Transport")
  })
})

describe("a successful answer that is not JSON", () => {
  it("is Protocol (the upstream answered, so it is not retried); a broken connection stays Transport", () => {
    expect(failure(answerJson("<html>Bad gateway</html>", "OpenAI"))).toMatchObject({
      _tag: "Protocol",
      message: "OpenAI sent an answer that is not JSON"
    })
    expect(failure(answerJson("<html>Bad gateway</html>", "Anthropic"))).toMatchObject({ _tag: "Protocol" })
    expect(transportReason(new TypeError("terminated"), "OpenAI")).toMatchObject({ _tag: "Transport" })
    expect(transportReason(new TypeError("terminated"), "Anthropic")).toMatchObject({ _tag: "Transport" })
  })
})
