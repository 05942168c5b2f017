/**
 * The services App.ts merges share what several of them need: each service's layer provides its own dependencies,
 * and one build makes one of each. Were a service given a copy, nothing would fail but what it reports: readiness
 * would not see the shutdown's draining flag, the detailed health would not see the attempts requests record.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { afterAll, beforeAll } from "vitest"
import { Services } from "../../src/App.ts"
import { GatewayConfig } from "../../src/Config.ts"
import { Health } from "../../src/services/health/Health.ts"
import { Lifecycle } from "../../src/services/health/Lifecycle.ts"
import { ProviderAdapters } from "../../src/services/registry/ProviderRegistry.ts"
import { Telemetry } from "../../src/services/telemetry/Telemetry.ts"
import { type FreshDatabase, freshDatabase } from "../support/database.ts"
import { testEnv } from "../support/gateway.ts"
import { postgresAvailable } from "../support/services.ts"

let database: FreshDatabase
beforeAll(async () => {
  if (postgresAvailable) database = await freshDatabase("wiring")
})
afterAll(() => database?.drop())

const services = () =>
  Services.pipe(
    Layer.provide(ProviderAdapters.layerNone),
    Layer.provideMerge(GatewayConfig.layerTest(testEnv({ DATABASE_URL: database.url })))
  )

describe.skipIf(!postgresAvailable)("the App's services", () => {
  it.effect("readiness reads the draining flag the shutdown sets", () =>
    Effect.gen(function* () {
      const health = yield* Health
      expect((yield* health.readiness).checks.accepting_traffic).toBe(true)
      yield* (yield* Lifecycle).beginDraining
      expect((yield* health.readiness).checks.accepting_traffic).toBe(false)
    }).pipe(Effect.provide(services()))
  )

  it.effect("the detailed health reads the upstream attempts that requests record", () =>
    Effect.gen(function* () {
      const record = (yield* Telemetry).begin("POST", "/v1/chat/completions", "req_wiring")
      for (let attempt = 0; attempt < 4; attempt++) record.attemptEnded("gpt-4", false)
      const { llm_services } = (yield* (yield* Health).detailed).components
      expect(llm_services.details["gpt-4"]).toBe("degraded")
      expect(llm_services.details["gpt-3.5-turbo"]).toBe("healthy")
    }).pipe(Effect.provide(services()))
  )
})
