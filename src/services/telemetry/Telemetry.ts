/**
 * The end of every request: its record becomes metrics, one structured log line, a
 * Langfuse trace (chat requests); Sentry hears of failures as they happen (`Sentry.ts`). `begin` and `finish`
 * are called by the global HTTP middleware; `finish` runs when the request's scope closes,
 * after the last byte of a stream and after its settlement.
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import { GatewayConfig } from "../../Config.ts"
import * as Money from "../../domain/Money.ts"
import { UpstreamOutcomes } from "../health/UpstreamOutcomes.ts"
import { Metrics, type RequestStatus } from "../metrics/Metrics.ts"
import { Langfuse } from "./Langfuse.ts"
import { RequestRecord, round2 } from "./RequestRecord.ts"
import { Traffic } from "./TrafficHistory.ts"

/** Status of a request the client abandoned before any response (nginx's convention). */
export const clientClosedRequest = 499

/** Probes and scrapes arrive every few seconds from machines: their lines are debug, not info. */
const machineRoutes = new Set(["/live", "/ready", "/metrics"])

/** The API's own routes: what the traffic history counts (not probes, health checks, scrapes or the dashboard). */
const countsAsTraffic = (route: string): boolean => route.startsWith("/v1/") || route.startsWith("/billing/")

/** The request log line's fields (snake_case, as log pipelines expect). */
const logFields = (record: RequestRecord, durationMs: number, outcome: RequestStatus): Record<string, unknown> => {
  const fields: Record<string, unknown> = {
    request_id: record.requestId,
    method: record.method,
    route: record.route,
    status: record.status,
    duration_ms: round2(durationMs)
  }
  if (record.clientRequestId !== undefined) fields.client_request_id = record.clientRequestId
  if (record.userId !== undefined) fields.user_id = record.userId
  if (record.model !== undefined) {
    fields.model = record.model.id
    if (record.answeredBy !== undefined && record.answeredBy !== record.model) fields.answered_by = record.answeredBy.id
    if (record.provider !== undefined) fields.provider = record.provider
    fields.stream = record.stream
    fields.outcome = outcome
    if (record.overheadMs !== undefined) fields.overhead_ms = round2(record.overheadMs)
    fields.upstream_ms = round2(record.upstreamMs)
    if (record.firstChunkMs !== undefined) fields.ttft_ms = round2(record.firstChunkMs)
    if (record.usage !== undefined) {
      fields.prompt_tokens = record.usage.promptTokens
      fields.completion_tokens = record.usage.completionTokens
      fields.usage_source = record.usage.source
    }
    if (record.settlement !== undefined) fields.cost_usd = Money.format(record.settlement.charged)
  }
  if (record.error !== undefined) fields.error_type = record.error.errorType
  if (record.streamFailure !== undefined) fields.stream_error = record.streamFailure
  return fields
}

export class Telemetry extends Context.Service<
  Telemetry,
  {
    /** `route` is the request's route template (`/v1/models/:id`), the label of its metrics and log line. */
    readonly begin: (method: string, route: string, requestId: string) => RequestRecord
    /** The response is ready (a stream's headers are about to be sent). */
    readonly responded: (record: RequestRecord, status: number) => void
    /** The request is over: `exit` is how its scope closed. */
    readonly finish: (record: RequestRecord, exit: Exit.Exit<unknown, unknown>) => Effect.Effect<void>
  }
>()("gateway/Telemetry") {
  static readonly layer = Layer.effect(
    Telemetry,
    Effect.gen(function* () {
      const config = yield* GatewayConfig
      const metrics = yield* Metrics
      const outcomes = yield* UpstreamOutcomes
      const langfuse = yield* Langfuse
      const traffic = yield* Traffic
      const { instruments } = metrics
      const keepsContent = config.observability.langfuse?.logContent === true
      const onAttempt = outcomes.record

      const begin = (method: string, route: string, requestId: string) => {
        instruments.inFlight.inc()
        return new RequestRecord({ requestId, method, route, onAttempt, keepsContent })
      }

      const responded = (record: RequestRecord, status: number) => {
        record.status = status
        if (record.stream && status === 200) instruments.openStreams.inc()
      }

      const recordChat = (record: RequestRecord, seconds: number, outcome: RequestStatus) => {
        const requested = metrics.model(record.model!.id)
        if (requested === undefined) return
        requested.requests[outcome].inc()
        requested.duration.observe(seconds)
        if (record.overheadMs !== undefined) instruments.overhead.observe(record.overheadMs / 1000)
        const answering = record.answeredBy === undefined ? undefined : metrics.model(record.answeredBy.id)
        if (answering === undefined) return
        if (outcome === "success")
          answering.upstreamLatency.observe((record.answeredAt - record.attemptStartedAt) / 1000)
        if (record.firstChunkMs !== undefined) answering.timeToFirstToken.observe(record.firstChunkMs / 1000)
        if (record.usage !== undefined) {
          answering.promptTokens.inc(record.usage.promptTokens)
          answering.completionTokens.inc(record.usage.completionTokens)
        }
        if (record.settlement !== undefined) answering.cost.inc(Number(record.settlement.charged) / 1e9)
      }

      const finish = (record: RequestRecord, exit: Exit.Exit<unknown, unknown>) => {
        const durationMs = record.elapsedMs()
        const cancelled = Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)
        if (record.status === 0) record.status = cancelled ? clientClosedRequest : 500
        instruments.inFlight.dec()
        metrics.route(record.route, record.method).observe(record.status, durationMs / 1000)
        const outcome: RequestStatus = cancelled
          ? "cancelled"
          : record.status >= 400 || record.streamFailure !== undefined
            ? "error"
            : "success"
        if (countsAsTraffic(record.route))
          traffic.add(Date.now(), {
            status: record.status,
            failedMidway: record.streamFailure !== undefined,
            model: record.model?.id,
            upstreamMs: record.upstreamMs,
            overheadMs: record.overheadMs
          })
        if (record.model !== undefined) {
          if (record.stream && record.status === 200) instruments.openStreams.dec()
          recordChat(record, durationMs / 1000, outcome)
          langfuse.enqueue(record)
        }
        const lineLevel: LogLevel.LogLevel = machineRoutes.has(record.route) ? "Debug" : "Info"
        if (LogLevel.isLessThan(lineLevel, config.server.logLevel)) return Effect.void
        const fields = logFields(record, durationMs, outcome)
        return lineLevel === "Debug" ? Effect.logDebug("request", fields) : Effect.logInfo("request", fields)
      }

      return Telemetry.of({ begin, responded, finish })
    })
  ).pipe(Layer.provide([Metrics.layer, UpstreamOutcomes.layer, Langfuse.layer, Traffic.layer]))
}
