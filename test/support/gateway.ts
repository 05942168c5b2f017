/**
 * Starts the whole gateway on a loopback port for a test suite, with a configuration
 * built from plain values (never from process.env).
 */
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { HttpServer } from "effect/http"
import { SignJWT } from "jose"
import { makeAppLayer } from "../../src/App.ts"
import { GatewayConfig, type RawEnv } from "../../src/Config.ts"
import type { ProviderAdapters } from "../../src/services/registry/ProviderRegistry.ts"
import { freshDatabase } from "./database.ts"
import { postgresAvailable } from "./services.ts"

export interface TestGateway {
  readonly url: string
  /** The database it uses; undefined for the embedded one. */
  readonly databaseUrl: string | undefined
  readonly close: () => Promise<void>
}

/** The JWT secret of test gateways (tests only: gateways without JWT_SECRET generate their own). */
export const testJwtSecret = "test-secret-of-the-test-suite-only-0123456789"

/** Defaults for tests: loopback, quiet logs, no simulated delay. */
export const testEnv = (overrides: RawEnv = {}): RawEnv => ({
  PORT: "0",
  JWT_SECRET: testJwtSecret,
  HOST: "127.0.0.1",
  LOG_LEVEL: "error",
  SIMULATOR_CHUNK_DELAY_MS: "0",
  ...overrides
})

/**
 * The environment of a gateway started as a process of its own (`src/main.ts`, the build): loopback, the test
 * secret, no simulated delay, and the PATH, so that it runs on the project's Node.
 */
export const processEnv = (port: number, overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  PATH: process.env["PATH"],
  PORT: String(port),
  HOST: "127.0.0.1",
  JWT_SECRET: testJwtSecret,
  LOG_LEVEL: "info",
  SIMULATOR_CHUNK_DELAY_MS: "0",
  ...overrides
})

/**
 * The gateway on a fresh database of the real PostgreSQL when it is up (else the embedded
 * one), unless the overrides name a DATABASE_URL. `adapters` replaces the provider adapters
 * (say, with a scripted fake; set the provider's API key so that the registry uses it).
 */
export const startGateway = async (
  overrides: RawEnv = {},
  options: { readonly adapters?: Layer.Layer<ProviderAdapters> } = {}
): Promise<TestGateway> => {
  const database =
    postgresAvailable && overrides["DATABASE_URL"] === undefined ? await freshDatabase("gateway") : undefined
  const env = testEnv(database === undefined ? overrides : { DATABASE_URL: database.url, ...overrides })
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(
    Layer.buildWithScope(makeAppLayer(GatewayConfig.layerTest(env), options.adapters), scope)
  ).catch(async (error: unknown) => {
    // A gateway that fails to start must not leave its database behind on the shared server.
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await database?.drop()
    throw error
  })
  const address = Context.get(context, HttpServer.HttpServer).address
  if (address._tag === "UnixPathAddress") throw new Error("expected a TCP address")
  return {
    url: `http://127.0.0.1:${address.port}`,
    databaseUrl: env["DATABASE_URL"],
    close: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await database?.drop()
    }
  }
}

export const secret = new TextEncoder().encode(testJwtSecret)

/** A token signed with the test secret. */
export const token = (sub = "user-test", options: { readonly admin?: boolean; readonly expiresIn?: string } = {}) =>
  new SignJWT(options.admin ? { role: "admin" } : {})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? "10m")
    .sign(secret)

export const authHeaders = async (sub?: string): Promise<Record<string, string>> => ({
  authorization: `Bearer ${await token(sub)}`,
  "content-type": "application/json"
})
