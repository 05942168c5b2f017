import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Layer, Runtime } from "effect"
import { AppLayer } from "./App.ts"
import { ConfigInvalid } from "./Config.ts"
import { CatalogInvalid } from "./services/registry/ModelCatalog.ts"
import { ProvidersUnavailable } from "./services/registry/ProviderRegistry.ts"

/** Start-up refusals whose message says everything: printed without a stack trace. */
const isStartupRefusal = (error: unknown) =>
  error instanceof ConfigInvalid || error instanceof CatalogInvalid || error instanceof ProvidersUnavailable

const main = Layer.launch(AppLayer).pipe(
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

NodeRuntime.runMain(main, { teardown, disableErrorReporting: true })
