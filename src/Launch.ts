/**
 * What `main.ts` launches once the modules are loaded: the gateway, or the primary of its workers.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import cluster from "node:cluster"
import { makeAppLayer, version } from "./App.ts"
import { runWorkers, WorkerFailedAtStart } from "./Cluster.ts"
import { ConfigInvalid, GatewayConfig, type LateCheck, loadConfig } from "./Config.ts"
import { CatalogInvalid, ModelCatalog } from "./services/registry/ModelCatalog.ts"
import { ProvidersUnavailable } from "./services/registry/ProviderRegistry.ts"

/** Start-up refusals whose message says everything: printed without a stack trace. */
const isStartupRefusal = (error: unknown) =>
  error instanceof ConfigInvalid ||
  error instanceof CatalogInvalid ||
  error instanceof ProvidersUnavailable ||
  error instanceof WorkerFailedAtStart

const reportFailure = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.tapCause((cause) =>
      Effect.sync(() => {
        const error = Cause.squash(cause)
        if (isStartupRefusal(error)) console.error(`Refusing to start. ${(error as Error).message}`)
        else if (!Cause.hasInterruptsOnly(cause)) console.error(Cause.pretty(cause))
      })
    )
  )

// SIGTERM/SIGINT interrupt the server; once it has drained, that is a clean stop (exit 0), as
// orchestrators expect. Failures (a start-up refusal, a crash) exit 1.
const teardown: Runtime.Teardown = (exit, onExit) =>
  exit._tag === "Failure" && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)

/** The model catalog the configuration names (MODELS_FILE) is checked with it: one report lists the problems of both. */
export const catalogCheck: LateCheck = (config) =>
  Layer.build(ModelCatalog.layer.pipe(Layer.provide(Layer.succeed(GatewayConfig, config)))).pipe(
    Effect.scoped,
    Effect.match({ onFailure: (invalid) => invalid.problems, onSuccess: () => [] })
  )

/**
 * Runs the gateway until SIGTERM/SIGINT, from which point the runtime owns those signals. The configuration is
 * read once, here: WEB_CONCURRENCY > 1 makes this process the primary of that many workers (each reads its own),
 * and an invalid configuration never forks.
 */
export const launch = (): void => {
  const main = Effect.gen(function* () {
    const config = yield* loadConfig(version, [catalogCheck])
    const { webConcurrency } = config.processes
    return cluster.isPrimary && webConcurrency > 1
      ? yield* runWorkers(
          webConcurrency,
          Duration.toMillis(config.server.shutdownTimeout),
          config.observability.balanceSeriesLimit
        )
      : yield* Layer.launch(makeAppLayer(GatewayConfig.layerOf(config)))
  })
  NodeRuntime.runMain(reportFailure(main), { teardown, disableErrorReporting: true })
}
