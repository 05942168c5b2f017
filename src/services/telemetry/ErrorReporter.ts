/**
 * Sentry (SENTRY_DSN): 5xx answers and defects, tagged with the request id, route, model
 * and status. Never the prompt, the completion or the token: events carry no request data
 * (no headers, no body, no default PII), only what this module puts in them. A client of
 * our own rather than `Sentry.init`: no global hub, no auto-instrumentation, no OpenTelemetry
 * provider of Sentry's competing with ours. During an outage the same failure would be
 * reported for every request, so each route/status/model is reported at most once per
 * `throttle`; defects always are.
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { GatewayConfig } from "../../Config.ts"
import type { RequestRecord } from "./RequestRecord.ts"

const throttleMs = 10_000
const closeTimeoutMs = 2_000

export class ErrorReporter extends Context.Service<
  ErrorReporter,
  {
    readonly enabled: boolean
    /** Reports the request if it ended in a 5xx error or a defect; cheap and synchronous otherwise. */
    readonly report: (record: RequestRecord) => void
  }
>()("gateway/ErrorReporter") {
  static readonly layer = Layer.effect(
    ErrorReporter,
    Effect.gen(function* () {
      const { observability, server } = yield* GatewayConfig
      const dsn = observability.sentryDsn
      if (dsn === undefined) return ErrorReporter.of({ enabled: false, report: () => {} })

      // Loaded only when configured: a gateway without Sentry never loads the SDK.
      const {
        defaultStackParser,
        makeNodeTransport,
        NodeClient,
        Scope: SentryScope
      } = yield* Effect.promise(() => import("@sentry/node"))
      const client = yield* Effect.acquireRelease(
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

      const lastReported = new Map<string, number>()
      const report = (record: RequestRecord) => {
        // A 5xx error answer or a defect; a health probe's 503 is an answer, not an error.
        if (record.defect === undefined && (record.status < 500 || record.error === undefined)) return
        const model = record.model?.id ?? "none"
        const key = `${record.method} ${record.route} ${record.status} ${model}`
        const now = Date.now()
        if (record.defect === undefined && now - (lastReported.get(key) ?? 0) < throttleMs) return
        lastReported.set(key, now)
        const scope = new SentryScope()
        scope.setTags({
          request_id: record.requestId,
          ...(record.clientRequestId === undefined ? {} : { client_request_id: record.clientRequestId }),
          route: record.route,
          method: record.method,
          status: record.status,
          model,
          ...(record.error === undefined ? {} : { error_type: record.error.errorType })
        })
        if (record.defect !== undefined) {
          client.captureException(Cause.squash(record.defect), undefined, scope)
        } else if (record.error !== undefined) {
          client.captureMessage(
            `${record.status} on ${record.method} ${record.route}: ${record.error.message}`,
            "error",
            undefined,
            scope
          )
        }
      }
      return ErrorReporter.of({ enabled: true, report })
    })
  )
}
