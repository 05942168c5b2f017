/**
 * Start-up reads the configuration once, through the ConfigProvider it is given, and refuses with one report
 * that names every problem: bad values, rules across variables, and late checks of what the variables name.
 */
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import { generateKeyPairSync, KeyObject } from "node:crypto"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigInvalid, GatewayConfig, loadConfig, type RawEnv } from "../../src/Config.ts"
import { catalogCheck } from "../../src/Launch.ts"
import { configOf } from "../support/config.ts"

const fromEnv = (env: RawEnv) => Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown(env))

const problemsOf = (env: RawEnv) => {
  const config = configOf(env)
  return config instanceof ConfigInvalid ? config.problems : []
}

const pem = generateKeyPairSync("ec", { namedCurve: "P-256" })
  .publicKey.export({ type: "spki", format: "pem" })
  .toString()

describe("start-up configuration", () => {
  it.effect("is read from the ConfigProvider the layer runs with", () =>
    Effect.gen(function* () {
      const config = yield* Effect.service(GatewayConfig).pipe(
        Effect.provide(GatewayConfig.layer("1.2.3")),
        fromEnv({ PORT: "9000", JWT_SECRET: "s".repeat(32) })
      )
      expect(config.server).toMatchObject({ port: 9000, version: "1.2.3" })
    })
  )

  it("trims values and reads words in any case", () => {
    const config = configOf({
      ENVIRONMENT: " Production ",
      LOG_LEVEL: "WARN",
      RETRY_JITTER: "Off",
      METRICS_TOKEN: "t".repeat(24),
      JWT_SECRET: "s".repeat(32)
    })
    if (config instanceof ConfigInvalid) throw config
    expect(config.server).toMatchObject({ environment: "production", logLevel: "Warn" })
    expect(config.resilience.retry.jitter).toBe(false)
  })

  it("reports a JWT_PUBLIC_KEY that does not parse with the other problems, and parses one that does", () => {
    const publicKey = { JWT_ALGORITHMS: "ES256", JWT_PUBLIC_KEY: "not a key" }
    expect(problemsOf({ ...publicKey, PORT: "eighty" })).toEqual([
      'PORT: expected an integer between 0 and 65535, got "eighty"',
      expect.stringMatching(/^JWT_PUBLIC_KEY: not a valid PEM public key \(/)
    ])
    const config = configOf({ ...publicKey, JWT_PUBLIC_KEY: pem.replace(/\n/g, "\\n") })
    if (config instanceof ConfigInvalid) throw config
    expect(config.auth.publicKey).toBeInstanceOf(KeyObject)
  })

  it.effect("reports a bad MODELS_FILE with the other problems", () =>
    Effect.gen(function* () {
      const directory = mkdtempSync(join(tmpdir(), "catalog-"))
      const file = join(directory, "models.json")
      writeFileSync(file, "{ not json")
      const refusal = yield* Effect.flip(
        loadConfig("test", [catalogCheck]).pipe(fromEnv({ PORT: "eighty", MODELS_FILE: file }))
      )
      expect(refusal.problems).toEqual([
        'PORT: expected an integer between 0 and 65535, got "eighty"',
        expect.stringMatching(new RegExp(`^MODELS_FILE ${file}: `))
      ])
    })
  )

  it("leaves OTEL_TRACES_SAMPLER_ARG to other programs while tracing is off", () => {
    expect(problemsOf({ OTEL_TRACES_SAMPLER_ARG: "parentbased_always_on" })).toEqual([])
    expect(problemsOf({ OTEL_TRACES_SAMPLER_ARG: "2", OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toEqual([
      'OTEL_TRACES_SAMPLER_ARG: expected a number between 0 and 1, got "2"'
    ])
  })
})
