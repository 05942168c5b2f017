/**
 * What `main.ts` launches once the modules are loaded: the gateway, or the primary of its workers.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import cluster from "node:cluster"
import { AppLayer, version } from "./App.ts"
import { runWorkers, WorkerFailedAtStart } from "./Cluster.ts"
import { ConfigInvalid, parseConfig } from "./Config.ts"
import { CatalogInvalid } from "./services/registry/ModelCatalog.ts"
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

/**
 * Runs the gateway until SIGTERM/SIGINT, from which point the runtime owns those signals. WEB_CONCURRENCY > 1
 * makes this process the primary of that many workers; an invalid configuration never forks: the gateway
 * below reports it.
 */
export const launch = (): void => {
  const config = cluster.isPrimary ? parseConfig(process.env, version) : undefined
  const main =
    config !== undefined && !(config instanceof ConfigInvalid) && config.processes.webConcurrency > 1
      ? runWorkers(
          config.processes.webConcurrency,
          config.server.shutdownTimeoutMs,
          config.observability.balanceSeriesLimit
        )
      : Layer.launch(AppLayer)
  NodeRuntime.runMain(reportFailure(main), { teardown, disableErrorReporting: true })
}
