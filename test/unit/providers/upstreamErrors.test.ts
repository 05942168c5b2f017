/**
 * Upstream failures → ProviderError reasons: the reason alone decides retries and what
 * the client sees, so each vendor's way of saying "slow down", "overloaded", "your key"
 * or "your request" must land on the right one.
 */
import Anthropic from "@anthropic-ai/sdk"
import OpenAI from "openai"
import { beforeAll, describe, expect, it } from "vitest"
import { ProviderError, toApiError } from "../../../src/domain/ProviderError.ts"
import { anthropicReason } from "../../../src/providers/anthropic/errors.ts"
import { openaiReason, openaiSdk } from "../../../src/providers/openai/errors.ts"
import { reasonForStatus, retryAfterSeconds } from "../../../src/providers/upstreamErrors.ts"

const now = Date.parse("2026-11-20T12:00:00Z")

describe("Retry-After", () => {
  it("reads retry-after-ms, seconds, and HTTP dates", () => {
    expect(retryAfterSeconds(new Headers({ "retry-after-ms": "1500", "retry-after": "9" }), now)).toBe(1.5)
    expect(retryAfterSeconds(new Headers({ "retry-after": "7" }), now)).toBe(7)
    expect(retryAfterSeconds({ "retry-after": "Fri, 20 Nov 2026 12:00:30 GMT" }, now)).toBe(30)
    expect(retryAfterSeconds({ "retry-after": "soon" }, now)).toBeUndefined()
    expect(retryAfterSeconds(undefined, now)).toBeUndefined()
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
  OpenAI.APIError.generate(status, body, undefined, new Headers(headers))
/** As the SDK throws an `{"error": …}` event of a stream: no status. */
const openaiStreamError = (error: object) => new OpenAI.APIError(undefined, error, undefined, new Headers())

describe("OpenAI errors", () => {
  // The gateway loads the SDK with its first failure; these errors are made here, so load it as it would.
  beforeAll(() => openaiSdk())

  it("uses the body's message, param and Retry-After", () => {
    const reason = openaiReason(
      openaiError(400, {
        error: { message: "Invalid 'messages[1]'", type: "invalid_request_error", param: "messages", code: null }
      }),
      now
    )
    expect(reason).toMatchObject({ _tag: "BadRequest", message: "Invalid 'messages[1]'", param: "messages" })
    const limited = openaiReason(
      openaiError(
        429,
        { error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } },
        { "retry-after": "18" }
      ),
      now
    )
    expect(limited).toMatchObject({ _tag: "RateLimited", retryAfterSeconds: 18 })
  })

  it("an empty quota is our account, never worth a retry; a content policy refusal is the request's", () => {
    const quota = openaiReason(
      openaiError(429, {
        error: { message: "You exceeded your current quota", type: "insufficient_quota", code: "insufficient_quota" }
      }),
      now
    )
    expect(quota).toMatchObject({ _tag: "Auth", status: 429 })
    const policy = openaiReason(
      openaiError(400, {
        error: { message: "flagged", type: "invalid_request_error", code: "content_policy_violation" }
      }),
      now
    )
    expect(policy._tag).toBe("ContentFiltered")
  })

  it("connection failures are Transport, its own timeouts Timeout, and an error event in a stream Overloaded", () => {
    expect(openaiReason(new OpenAI.APIConnectionError({ cause: new Error("ECONNREFUSED") }), now)._tag).toBe(
      "Transport"
    )
    expect(openaiReason(new OpenAI.APIConnectionTimeoutError(), now)._tag).toBe("Timeout")
    expect(
      openaiReason(openaiStreamError({ message: "The server had an error", type: "server_error" }), now)
    ).toMatchObject({
      _tag: "Overloaded",
      status: 500
    })
  })
})

const body = (type: string) => ({ type: "error", error: { type, message: `${type} happened` } })
const anthropicError = (status: number, type: string, headers: Record<string, string> = {}) =>
  Anthropic.APIError.generate(status, body(type), undefined, new Headers(headers))
/** As the SDK throws an `event: error` of a stream: no status, the type from the body. */
const anthropicStreamError = (type: string) =>
  new Anthropic.APIError(undefined, body(type), undefined, new Headers(), type as never)

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
    expect(anthropicReason(anthropicError(status, type), now)).toMatchObject({ _tag: tag, message: `${type} happened` })
  })

  it("an overload keeps its 529 and Retry-After; an error event inside a stream is read by its type", () => {
    expect(anthropicReason(anthropicError(529, "overloaded_error", { "retry-after": "4" }), now)).toMatchObject({
      status: 529,
      retryAfterSeconds: 4
    })
    expect(anthropicReason(anthropicStreamError("overloaded_error"), now)).toMatchObject({ _tag: "Overloaded" })
    expect(anthropicReason(anthropicStreamError("rate_limit_error"), now)).toMatchObject({ _tag: "RateLimited" })
  })
})

describe("a successful answer that is not JSON", () => {
  it("is Protocol (the upstream answered, so it is not retried); a broken connection stays Transport", () => {
    let notJson: unknown
    try {
      JSON.parse("<html>Bad gateway</html>")
    } catch (error) {
      notJson = error
    }
    expect(openaiReason(notJson, now)).toMatchObject({
      _tag: "Protocol",
      message: "OpenAI sent an answer that is not JSON"
    })
    expect(anthropicReason(notJson, now)).toMatchObject({ _tag: "Protocol" })
    expect(openaiReason(new TypeError("terminated"), now)).toMatchObject({ _tag: "Transport" })
    expect(anthropicReason(new TypeError("terminated"), now)).toMatchObject({ _tag: "Transport" })
  })
})
