/**
 * Sentry (SENTRY_DSN) as one of Effect's error reporters (`effect/ErrorReporter`). HttpApi reports what every
 * handler fails with, and the HTTP layer what escapes the handlers; client errors (4xx) are marked ignorable
 * (`domain/errors.ts`), so what reaches Sentry is 5xx answers and defects, tagged with the request id, route,
 * model and status. Never the prompt, the completion or the token: events carry no request data (no headers,
 * no body, no default PII), only what this module puts in them. A client of our own rather than `Sentry.init`:
 * no global hub, no auto-instrumentation, no OpenTelemetry provider of Sentry's competing with ours. During an
 * outage the same failure would be reported for every request, so each route/status/model is reported at most
 * once per `throttle`; defects always are.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ErrorReporter from "effect/ErrorReporter"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { GatewayConfig } from "../../Config.ts"
import { CurrentRequest } from "./RequestRecord.ts"

export const throttle = Duration.seconds(10)
const closeTimeoutMs = 2_000

export type Tags = Record<string, string | number>

/** Where reports go: Sentry's client in production, a list in tests. */
export interface Sink {
  /** A defect, with its stack. */
  readonly exception: (error: Error, tags: Tags) => void
  /** A 5xx answer. */
  readonly message: (message: string, tags: Tags) => void
}

/** The reporter: request tags from the failing fiber's request record, throttled per route, status and model. */
export const reporter = (sink: Sink): ErrorReporter.ErrorReporter => {
  const lastReported = new Map<string, number>()
  const throttleMs = Duration.toMillis(throttle)
  return ErrorReporter.make(({ error, attributes, fiber, timestamp }) => {
    // An ApiError names its status (`attributes`); anything else the client got as a 500 is a defect.
    const isDefect = typeof attributes["status"] !== "number"
    const status = isDefect ? 500 : Number(attributes["status"])
    const record = fiber.getRef(CurrentRequest)
    const model = record.model?.id ?? "none"
    const now = Number(timestamp / 1_000_000n)
    const key = `${record.method} ${record.route} ${status} ${model}`
    if (!isDefect && now - (lastReported.get(key) ?? Number.NEGATIVE_INFINITY) < throttleMs) return
    lastReported.set(key, now)
    const tags: Tags = {
      request_id: record.requestId,
      ...(record.clientRequestId === undefined ? {} : { client_request_id: record.clientRequestId }),
      route: record.route,
      method: record.method,
      status,
      model,
      error_type: isDefect ? "internal_error" : String(attributes["error_type"])
    }
    if (isDefect) sink.exception(error, tags)
    else sink.message(`${status} on ${record.method} ${record.route}: ${error.message}`, tags)
  })
}

/** Registers the Sentry reporter when SENTRY_DSN is set; nothing otherwise. The client is closed (flushed) with the layer. */
export const layer: Layer.Layer<never, never, GatewayConfig> = Layer.unwrap(
  Effect.gen(function* () {
    const { observability, server } = yield* GatewayConfig
    const dsn = observability.sentryDsn
    if (dsn === undefined) return Layer.empty
    // Loaded only when configured: a gateway without Sentry never loads the SDK.
    const {
      defaultStackParser,
      makeNodeTransport,
      NodeClient,
      Scope: SentryScope
    } = yield* Effect.promise(() => import("@sentry/node"))
    const client = Effect.acquireRelease(
      Effect.sync(() => {
        const client = new NodeClient({
          dsn: Redacted.value(dsn),
          environment: server.environment,
          release: `llm-gateway@${server.version}`,
          integrations: [],
          transport: makeNodeTransport,
          stackParser: defaultStackParser,
          // Whatever an SDK might add, events leave with no request data.
          beforeSend: (event) => {
            delete event.request
            delete event.user
            return event
          }
        })
        client.init()
        return client
      }),
      (client) => Effect.promise(() => client.close(closeTimeoutMs))
    )
    const scoped = (tags: Tags) => new SentryScope().setTags(tags)
    return ErrorReporter.layer([
      Effect.map(client, (client) =>
        reporter({
          exception: (error, tags) => client.captureException(error, undefined, scoped(tags)),
          message: (message, tags) => client.captureMessage(message, "error", undefined, scoped(tags))
        })
      )
    ])
  })
)
