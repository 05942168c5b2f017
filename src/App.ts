/**
 * The one place production layers are composed.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { readFileSync } from "node:fs"
import { GatewayConfig } from "./Config.ts"
import * as Logging from "./Logging.ts"
import { projectFile } from "./ProjectFiles.ts"
import * as Server from "./http/Server.ts"
import { Auth } from "./services/auth/Auth.ts"
import { Billing } from "./services/billing/Billing.ts"
import { ChatCompletions } from "./services/chat/ChatCompletions.ts"
import { Embeddings } from "./services/embeddings/Embeddings.ts"
import { Health } from "./services/health/Health.ts"
import { Lifecycle } from "./services/health/Lifecycle.ts"
import { UpstreamOutcomes } from "./services/health/UpstreamOutcomes.ts"
import { Idempotency } from "./services/idempotency/Idempotency.ts"
import { Metrics } from "./services/metrics/Metrics.ts"
import * as MetricsHooks from "./services/metrics/MetricsHooks.ts"
import { MetricsScrape } from "./services/metrics/MetricsScrape.ts"
import { RateLimiter } from "./services/ratelimit/RateLimiter.ts"
import { ModelCatalog } from "./services/registry/ModelCatalog.ts"
import { ProviderAdapters } from "./services/registry/ProviderRegistry.ts"
import * as Sentry from "./services/telemetry/Sentry.ts"
import { Telemetry } from "./services/telemetry/Telemetry.ts"
import { Traffic } from "./services/telemetry/TrafficHistory.ts"
import * as Tracing from "./services/telemetry/Tracing.ts"

export const version: string = JSON.parse(readFileSync(projectFile("package.json"), "utf8")).version

/**
 * The services the HTTP layer calls. Each service's layer brings its own dependencies, and a layer that several
 * need (the catalog, the database, the breakers) is built once: a build memoizes layers by identity. What is left
 * to give them is what the gateway is given: its configuration and the provider adapters. Breakers, retries and
 * balances report to the metrics through their hooks, provided around every service that reports.
 */
export const Services = Layer.mergeAll(
  ChatCompletions.layer,
  Embeddings.layer,
  Billing.layer,
  Idempotency.layer,
  ModelCatalog.layer,
  Auth.layer,
  RateLimiter.layer,
  Health.layer,
  Lifecycle.layer,
  Metrics.layer,
  MetricsScrape.layer,
  Telemetry.layer,
  // Written by Telemetry and Health's requests; exposed for the admin traffic endpoint (the same instances).
  Traffic.layer,
  UpstreamOutcomes.layer,
  Sentry.layer
).pipe(Layer.provide(MetricsHooks.layer))

/** Readiness turns false as soon as shutdown begins, before the server stops accepting. */
const DrainOnShutdown = Layer.effectDiscard(
  Effect.gen(function* () {
    const lifecycle = yield* Lifecycle
    yield* Effect.addFinalizer(() =>
      Effect.andThen(lifecycle.beginDraining, Effect.logInfo("Shutting down: draining in-flight requests"))
    )
  })
)

/**
 * The whole gateway for a given configuration; it exposes the HttpServer (tests read its
 * address). Draining is built after the server, so its finalizer runs before the server's.
 * Tests may pass their own provider adapters.
 */
export const makeAppLayer = <E>(
  config: Layer.Layer<GatewayConfig, E>,
  adapters: Layer.Layer<ProviderAdapters, never, GatewayConfig> = ProviderAdapters.layer
) =>
  DrainOnShutdown.pipe(
    Layer.provideMerge(Server.layer),
    Layer.provide(Services),
    Layer.provide(adapters),
    Layer.provide(Tracing.layer),
    Layer.provide(Logging.layer),
    Layer.provide(config)
  )
