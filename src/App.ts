/**
 * The one place production layers are composed.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { readFileSync } from "node:fs"
import { GatewayConfig } from "./Config.ts"
import * as Logging from "./Logging.ts"
import * as Server from "./http/Server.ts"
import { Auth } from "./services/auth/Auth.ts"
import { Billing } from "./services/billing/Billing.ts"
import { ChatCompletions } from "./services/chat/ChatCompletions.ts"
import { Health } from "./services/health/Health.ts"
import { Lifecycle } from "./services/health/Lifecycle.ts"
import { UpstreamOutcomes } from "./services/health/UpstreamOutcomes.ts"
import { Metrics } from "./services/metrics/Metrics.ts"
import * as MetricsHooks from "./services/metrics/MetricsHooks.ts"
import { RateLimiter } from "./services/ratelimit/RateLimiter.ts"
import { ModelCatalog } from "./services/registry/ModelCatalog.ts"
import { ProviderAdapters, ProviderRegistry } from "./services/registry/ProviderRegistry.ts"
import { CircuitBreakers } from "./services/resilience/CircuitBreakers.ts"
import { Resilience } from "./services/resilience/Resilience.ts"
import { Langfuse } from "./services/telemetry/Langfuse.ts"
import * as Sentry from "./services/telemetry/Sentry.ts"
import { Telemetry } from "./services/telemetry/Telemetry.ts"
import * as Tracing from "./services/telemetry/Tracing.ts"
import * as Database from "./storage/Database.ts"
import { RedisConnection } from "./storage/Redis.ts"

export const version: string = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version

const providersLayer = (adapters: Layer.Layer<ProviderAdapters, never, GatewayConfig>) =>
  ProviderRegistry.layer.pipe(Layer.provide([ModelCatalog.layer, adapters]))

const servicesLayer = (adapters: Layer.Layer<ProviderAdapters, never, GatewayConfig>) => {
  const providers = providersLayer(adapters)
  const metrics = Metrics.layer.pipe(Layer.provide([providers, ModelCatalog.layer]))
  // Breakers, retries and balances report to the metrics through their hooks.
  const hooks = MetricsHooks.layer.pipe(Layer.provide(metrics))
  /** One set of breakers, shared by the chat path that moves them and the health checks that report them. */
  const breakers = CircuitBreakers.layer.pipe(Layer.provide([ModelCatalog.layer, hooks]))
  const billing = Billing.layer.pipe(Layer.provide([Database.layer, hooks]))
  const telemetry = Telemetry.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(Langfuse.layer, Sentry.layer, UpstreamOutcomes.layer)),
    Layer.provideMerge(metrics)
  )
  return Layer.mergeAll(
    ChatCompletions.layer.pipe(
      Layer.provide(Resilience.layer.pipe(Layer.provide(hooks))),
      Layer.provide([providers, ModelCatalog.layer, billing])
    ),
    billing,
    ModelCatalog.layer,
    Auth.layer,
    Health.layer.pipe(Layer.provide([Database.layer, RedisConnection.layer]))
  ).pipe(
    Layer.provideMerge(telemetry),
    Layer.provideMerge(breakers),
    Layer.provideMerge(RateLimiter.layer.pipe(Layer.provide(RedisConnection.layer))),
    Layer.provideMerge(Lifecycle.layer)
  )
}

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
    Layer.provide(servicesLayer(adapters)),
    Layer.provide(Tracing.layer),
    Layer.provide(Logging.layer),
    Layer.provide(config)
  )

export const AppLayer = makeAppLayer(GatewayConfig.layer(version))
