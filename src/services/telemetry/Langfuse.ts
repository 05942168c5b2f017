/**
 * Langfuse export: each chat completion becomes a trace with one generation (model, usage,
 * cost, latency, time to first token, user id; the prompt and completion text only with
 * LANGFUSE_LOG_CONTENT=true), sent in batches to the ingestion API by a background fiber.
 * A request only appends its finished record to a bounded buffer: export can never slow or
 * fail it. What does not fit, or what the endpoint refuses, is dropped and counted in
 * `langfuse_events_dropped_total`.
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { GatewayConfig } from "../../Config.ts"
import type { ComponentStatus } from "../../domain/Health.ts"
import { Metrics } from "../metrics/Metrics.ts"
import { toIngestionEvents } from "./LangfuseEvents.ts"
import type { RequestRecord } from "./RequestRecord.ts"

/** Finished requests waiting for export; beyond this they are dropped. */
export const maxQueued = 5_000
/** Requests per ingestion call (two events each). */
const batchSize = 100
const flushInterval = Duration.seconds(1)
const exportTimeout = Duration.seconds(10)
const shutdownFlushTimeout = Duration.seconds(5)

export class Langfuse extends Context.Service<
  Langfuse,
  {
    readonly host: string | undefined
    /** Queues a finished chat request for export; O(1), never waits, never fails. */
    readonly enqueue: (record: RequestRecord) => void
    /** Degraded while the last export failed. */
    readonly status: Effect.Effect<ComponentStatus>
  }
>()("gateway/Langfuse") {
  static readonly layer = Layer.effect(
    Langfuse,
    Effect.gen(function* () {
      const { observability, server } = yield* GatewayConfig
      const settings = observability.langfuse
      if (settings === undefined) {
        return Langfuse.of({ host: undefined, enqueue: () => {}, status: Effect.succeed("healthy") })
      }
      const { instruments } = yield* Metrics
      const dropped = {
        queueFull: instruments.langfuseDropped.labels({ reason: "queue_full" }),
        exportFailed: instruments.langfuseDropped.labels({ reason: "export_failed" })
      }
      const url = `${settings.host}/api/public/ingestion`
      const authorization = `Basic ${Buffer.from(`${settings.publicKey}:${Redacted.value(settings.secretKey)}`).toString("base64")}`
      let queue: Array<RequestRecord> = []
      let lastExportFailed = false

      const send = (records: ReadonlyArray<RequestRecord>) => {
        const events = records.flatMap((record) => toIngestionEvents(record, settings.logContent, server.environment))
        return Effect.tryPromise({
          try: (signal) =>
            fetch(url, {
              method: "POST",
              headers: { authorization, "content-type": "application/json" },
              body: JSON.stringify({ batch: events }),
              signal
            }).then(async (response) => {
              await response.body?.cancel()
              if (!response.ok) throw new Error(`Langfuse ingestion answered ${response.status}`)
            }),
          catch: (error) => (error instanceof Error ? error : new Error(String(error)))
        }).pipe(
          Effect.timeout(exportTimeout),
          Effect.matchEffect({
            onSuccess: () =>
              Effect.sync(() => {
                lastExportFailed = false
                instruments.langfuseExported.inc(events.length)
              }),
            onFailure: (error) =>
              Effect.andThen(
                Effect.sync(() => {
                  lastExportFailed = true
                  dropped.exportFailed.inc(events.length)
                }),
                Effect.logWarning(`Langfuse export failed; ${events.length} events dropped: ${error.message}`)
              )
          })
        )
      }

      /** Sends everything queued so far, a batch at a time. */
      const flush = Effect.suspend(() => {
        const records = queue
        queue = []
        const batches: Array<ReadonlyArray<RequestRecord>> = []
        for (let i = 0; i < records.length; i += batchSize) batches.push(records.slice(i, i + batchSize))
        return Effect.forEach(batches, send, { discard: true })
      })

      yield* Effect.forkScoped(Effect.repeat(flush, Schedule.spaced(flushInterval)))
      yield* Effect.addFinalizer(() => Effect.ignore(Effect.timeout(flush, shutdownFlushTimeout)))

      return Langfuse.of({
        host: settings.host,
        enqueue: (record) => {
          if (queue.length >= maxQueued) dropped.queueFull.inc(2)
          else queue.push(record)
        },
        status: Effect.sync(() => (lastExportFailed ? "degraded" : "healthy"))
      })
    })
  ).pipe(Layer.provide(Metrics.layer))
}
