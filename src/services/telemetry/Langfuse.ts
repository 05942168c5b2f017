/**
 * Langfuse export: each chat completion becomes a trace with one generation (model, usage,
 * cost, latency, time to first token, user id; the prompt and completion text only with
 * LANGFUSE_LOG_CONTENT=true), sent in batches to the ingestion API by a background fiber.
 * A request only offers its finished record to a bounded queue: export can never slow or
 * fail it. What does not fit, or what the endpoint refuses, is dropped and counted in
 * `langfuse_events_dropped_total`.
 */
import type * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import { GatewayConfig } from "../../Config.ts"
import type { ComponentStatus } from "../../domain/Health.ts"
import { Metrics } from "../metrics/Metrics.ts"
import { toIngestionEvents } from "./LangfuseEvents.ts"
import type { RequestRecord } from "./RequestRecord.ts"

/** Finished requests waiting for export; beyond this they are dropped. */
export const maxQueued = 5_000
/** Requests per ingestion call (two events each). */
const batchSize = 100
/** How long a request waits in the queue for others to share its ingestion call. */
const batchWindow = Duration.seconds(1)
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
  static readonly layerNoDeps = Layer.effect(
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
      // Scoped, so that the answer's body is let go as soon as its status is known.
      const client = HttpClient.withScope(HttpClient.filterStatusOk(yield* HttpClient.HttpClient))
      const ingestion = HttpClientRequest.post(`${settings.host}/api/public/ingestion`).pipe(
        HttpClientRequest.basicAuth(settings.publicKey, Redacted.value(settings.secretKey))
      )
      const lastExportFailed = yield* Ref.make(false)
      const queue = yield* Queue.dropping<RequestRecord, Cause.Done>(maxQueued)

      const send = (records: ReadonlyArray<RequestRecord>) => {
        const events = records.flatMap((record) => toIngestionEvents(record, settings.logContent, server.environment))
        return client.execute(HttpClientRequest.bodyJsonUnsafe(ingestion, { batch: events })).pipe(
          Effect.scoped,
          Effect.timeout(exportTimeout),
          Effect.matchEffect({
            onSuccess: () =>
              Effect.andThen(
                Ref.set(lastExportFailed, false),
                Effect.sync(() => instruments.langfuseExported.inc(events.length))
              ),
            onFailure: (error) =>
              Effect.andThen(
                Ref.set(lastExportFailed, true),
                Effect.andThen(
                  Effect.sync(() => dropped.exportFailed.inc(events.length)),
                  Effect.logWarning(`Langfuse export failed; ${events.length} events dropped: ${error.message}`)
                )
              )
          })
        )
      }

      // Exports are not traced: they would be traces of their own, about the gateway's telemetry.
      const exporter = yield* Stream.fromQueue(queue).pipe(
        Stream.groupedWithin(batchSize, batchWindow),
        Stream.runForEach(send),
        Effect.withTracerEnabled(false),
        Effect.forkScoped
      )
      // At shutdown, what is queued is still sent, within a bound; then the exporter is interrupted.
      yield* Effect.addFinalizer(() =>
        Queue.end(queue).pipe(
          Effect.andThen(Fiber.await(exporter)),
          Effect.timeout(shutdownFlushTimeout),
          Effect.ignore
        )
      )

      return Langfuse.of({
        host: settings.host,
        enqueue: (record) => {
          if (!Queue.offerUnsafe(queue, record)) dropped.queueFull.inc(2)
        },
        status: Effect.map(Ref.get(lastExportFailed), (failed) => (failed ? "degraded" : "healthy"))
      })
    })
  )

  static readonly layer = Langfuse.layerNoDeps.pipe(Layer.provide([FetchHttpClient.layer, Metrics.layer]))
}
