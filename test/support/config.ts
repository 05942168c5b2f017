/** Configuration in tests: read from a plain object through a ConfigProvider, never from process.env. */
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import { type RawEnv, type ConfigInvalid, type GatewayConfigShape, loadConfig } from "../../src/Config.ts"

/** The configuration `env` gives, or the start-up refusal naming every problem. */
export const configOf = (env: RawEnv, version = "test"): GatewayConfigShape | ConfigInvalid =>
  Effect.runSync(
    loadConfig(version).pipe(
      Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown(env)),
      Effect.match({ onFailure: (invalid) => invalid, onSuccess: (config) => config })
    )
  )
