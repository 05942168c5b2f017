/**
 * OpenTelemetry tracing through `@effect/opentelemetry`: when OTEL_EXPORTER_OTLP_ENDPOINT is
 * set, Effect's spans (the HTTP server span of each request — named by the HTTP layer, parented by an
 * incoming W3C `traceparent` — and the auth, rate-limit, billing, SQL, Redis and upstream-attempt spans
 * inside it) go to an OpenTelemetry tracer provider and out through OTLP/HTTP in batches.
 * Without it, tracing is switched off altogether and the SDK is not even loaded: spans cost
 * nothing on the hot path.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as References from "effect/References"
import { GatewayConfig } from "../../Config.ts"

export const layer = Layer.unwrap(
  Effect.gen(function* () {
    const { observability, server } = yield* GatewayConfig
    const tracing = observability.tracing
    if (tracing === undefined) return Layer.succeed(References.TracerEnabled, false)
    const [NodeSdk, { OTLPTraceExporter }, { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler }] =
      yield* Effect.promise(() =>
        Promise.all([
          import("@effect/opentelemetry/NodeSdk"),
          import("@opentelemetry/exporter-trace-otlp-http"),
          import("@opentelemetry/sdk-trace-base")
        ])
      )
    return NodeSdk.layer(() => ({
      resource: {
        serviceName: tracing.serviceName,
        serviceVersion: server.version,
        attributes: { "deployment.environment.name": server.environment }
      },
      spanProcessor: new BatchSpanProcessor(new OTLPTraceExporter({ url: `${tracing.endpoint}/v1/traces` })),
      tracerConfig: { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(tracing.sampleRatio) }) }
    }))
  })
)
