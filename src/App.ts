/**
 * The one place production layers are composed.
 */
import { Effect, Layer, Logger, References } from "effect"
import { readFileSync } from "node:fs"
import { GatewayConfig, type LogLevelName } from "./Config.ts"
import * as Server from "./http/Server.ts"
import { Auth } from "./services/auth/Auth.ts"
import { Billing } from "./services/billing/Billing.ts"
import { ChatCompletions } from "./services/chat/ChatCompletions.ts"
import { Health } from "./services/health/Health.ts"
import { Lifecycle } from "./services/health/Lifecycle.ts"
import { RateLimiter } from "./services/ratelimit/RateLimiter.ts"
import { ModelCatalog } from "./services/registry/ModelCatalog.ts"
import { ProviderAdapters, ProviderRegistry } from "./services/registry/ProviderRegistry.ts"
import { CircuitBreakers } from "./services/resilience/CircuitBreakers.ts"
import { Resilience } from "./services/resilience/Resilience.ts"
import * as Database from "./storage/Database.ts"
import { RedisConnection } from "./storage/Redis.ts"

export const version: string = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version

const logLevels = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  error: "Error",
  fatal: "Fatal",
  none: "None"
} as const satisfies Record<LogLevelName, string>

/** JSON lines in production, readable lines in development; the level from LOG_LEVEL. */
const LoggingLayer = Layer.unwrap(
  Effect.gen(function* () {
    const { server } = yield* GatewayConfig
    return Layer.mergeAll(
      Logger.layer([server.environment === "production" ? Logger.consoleJson : Logger.consolePretty()]),
      Layer.succeed(References.MinimumLogLevel, logLevels[server.logLevel])
    )
  })
)

const providersLayer = (adapters: Layer.Layer<ProviderAdapters, never, GatewayConfig>) =>
  ProviderRegistry.layer.pipe(Layer.provide([ModelCatalog.layer, adapters]))

/** One set of breakers, shared by the chat path that moves them and the health checks that report them. */
const BreakersLayer = CircuitBreakers.layer.pipe(Layer.provide(ModelCatalog.layer))

const BillingLayer = Billing.layer.pipe(Layer.provide(Database.layer))

const servicesLayer = (adapters: Layer.Layer<ProviderAdapters, never, GatewayConfig>) =>
  Layer.mergeAll(
    ChatCompletions.layer.pipe(
      Layer.provide(Resilience.layer),
      Layer.provide([providersLayer(adapters), ModelCatalog.layer, BillingLayer])
    ),
    BillingLayer,
    ModelCatalog.layer,
    Auth.layer,
    Health.layer.pipe(Layer.provide(Database.layer))
  ).pipe(
    Layer.provideMerge(BreakersLayer),
    Layer.provideMerge(RateLimiter.layer.pipe(Layer.provide(RedisConnection.layer))),
    Layer.provideMerge(Lifecycle.layer)
  )

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
    Layer.provide(LoggingLayer),
    Layer.provide(config)
  )

export const AppLayer = makeAppLayer(GatewayConfig.layer(version))
