/**
 * The Sentry reporter as Effect's error reporting drives it: 5xx errors and defects are reported with the
 * request's tags, client errors never, and a repeated 5xx of one route, status and model at most once per
 * throttle (TestClock); defects always.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, ErrorReporter } from "effect"
import { TestClock } from "effect/testing"
import { ServiceUnavailable, ValidationError } from "../../src/domain/errors.ts"
import { CurrentRequest, RequestRecord } from "../../src/services/telemetry/RequestRecord.ts"
import { reporter, type Tags, throttle } from "../../src/services/telemetry/Sentry.ts"

interface Sent {
  readonly kind: "exception" | "message"
  readonly text: string
  readonly tags: Tags
}

const harness = () => {
  const sent: Array<Sent> = []
  const sentry = reporter({
    exception: (error, tags) => sent.push({ kind: "exception", text: error.message, tags }),
    message: (text, tags) => sent.push({ kind: "message", text, tags })
  })
  /** Runs a failing request the way HttpApi runs a handler: with error reporting, inside the request's record. */
  const request = <E>(failure: Effect.Effect<never, E>, route = "/v1/chat/completions") => {
    const record = new RequestRecord({ requestId: `req_${sent.length}`, method: "POST", route })
    record.clientRequestId = "client-1"
    return failure.pipe(
      Effect.withErrorReporting,
      Effect.provideService(CurrentRequest, record),
      Effect.provideService(ErrorReporter.CurrentErrorReporters, new Set([sentry])),
      Effect.exit
    )
  }
  return { sent, request }
}

const unavailable = () => Effect.fail(new ServiceUnavailable({ message: "LLM service temporarily unavailable" }))

describe("Sentry reporter", () => {
  it.effect("reports a 5xx with the request's tags, and never a client error", () =>
    Effect.gen(function* () {
      const { sent, request } = harness()
      yield* request(Effect.fail(new ValidationError({ message: "messages: required", param: "messages" })))
      assert.deepStrictEqual(sent, [])
      yield* request(unavailable())
      assert.deepStrictEqual(sent, [
        {
          kind: "message",
          text: "503 on POST /v1/chat/completions: LLM service temporarily unavailable",
          tags: {
            request_id: "req_0",
            client_request_id: "client-1",
            route: "/v1/chat/completions",
            method: "POST",
            status: 503,
            model: "none",
            error_type: "service_error"
          }
        }
      ])
    })
  )

  it.effect("reports a repeated 5xx of one route and status once per throttle; defects every time", () =>
    Effect.gen(function* () {
      const { sent, request } = harness()
      yield* request(unavailable())
      yield* request(unavailable())
      yield* request(unavailable(), "/billing/balance")
      assert.deepStrictEqual(
        sent.map((report) => report.tags["route"]),
        ["/v1/chat/completions", "/billing/balance"]
      )
      yield* request(Effect.die(new Error("boom")))
      yield* request(Effect.die(new Error("boom again")))
      assert.deepStrictEqual(
        sent.slice(2).map((report) => [report.kind, report.text, report.tags["status"], report.tags["error_type"]]),
        [
          ["exception", "boom", 500, "internal_error"],
          ["exception", "boom again", 500, "internal_error"]
        ]
      )
      yield* TestClock.adjust(throttle)
      yield* request(unavailable())
      assert.strictEqual(sent.length, 5)
      assert.strictEqual(sent[4]!.tags["route"], "/v1/chat/completions")
    })
  )
})
