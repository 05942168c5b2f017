/**
 * Applies the migrations in migrations/ to DATABASE_URL (or the embedded database) and exits.
 * The gateway also applies them at start-up; this is for deploy pipelines.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer } from "effect"
import { version } from "../src/App.ts"
import { GatewayConfig } from "../src/Config.ts"
import * as Database from "../src/storage/Database.ts"

Effect.logInfo("Migrations are up to date").pipe(
  Effect.provide(Database.layer.pipe(Layer.provide(GatewayConfig.layer(version)))),
  NodeRuntime.runMain
)
