/**
 * The gateway's configuration: every environment variable declared once (config/variables.ts), its type derived
 * from that declaration, read once through Effect's `ConfigProvider`. Start-up refuses with one message listing
 * every problem: bad values, rules across settings, and late checks of what the settings name (a PEM key, the
 * model catalog).
 */
import * as Context from "effect/Context"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { createPublicKey, type KeyObject, randomBytes } from "node:crypto"
import { read, type Values as ValuesOf } from "./config/Setting.ts"
import { declaration, type JwtAlgorithm, logLevels } from "./config/variables.ts"
import * as DevelopmentSecret from "./DevelopmentSecret.ts"
import type { ProviderName } from "./domain/Catalog.ts"

export { environmentVariables, holdRenewal } from "./config/variables.ts"

const isHmac = (algorithm: JwtAlgorithm) => algorithm.startsWith("HS")

type Values = ValuesOf<typeof declaration>

/** Rules across settings; each broken one is a problem. */
const rules = ({ server, auth, storage, resilience, observability, processes }: Values): Array<string | false> => {
  const production = server.environment === "production"
  const symmetric = auth.algorithms.some(isHmac)
  const asymmetric = auth.algorithms.some((algorithm) => !isHmac(algorithm))
  const { token, port, host } = observability.metrics
  return [
    symmetric &&
      asymmetric &&
      "JWT_ALGORITHMS: mixing HMAC (HS*) and public-key algorithms invites key confusion; choose one family",
    // Without JWT_SECRET, a development gateway generates one and keeps it in DATA_DIR (DevelopmentSecret.ts).
    production && symmetric && auth.secret === undefined && "JWT_SECRET: required for HS* algorithms in production",
    production &&
      symmetric &&
      auth.secret !== undefined &&
      Buffer.byteLength(Redacted.value(auth.secret)) < 32 &&
      "JWT_SECRET: must be at least 32 bytes in production",
    production &&
      auth.providerUserId.mode === "hashed" &&
      auth.providerUserId.key === undefined &&
      !symmetric &&
      "PROVIDER_USER_ID_KEY: required in production for PROVIDER_USER_ID=hashed with public-key JWT algorithms " +
        "(there is no JWT secret to key the hash with); or set PROVIDER_USER_ID=subject or none",
    asymmetric &&
      auth.publicKey === undefined &&
      auth.jwksUrl === undefined &&
      "JWT_PUBLIC_KEY or JWT_JWKS_URL: one is required for public-key algorithms",
    Duration.isGreaterThan(resilience.retry.baseDelay, resilience.retry.maxDelay) &&
      "RETRY_BASE_DELAY: must not exceed RETRY_MAX_DELAY",
    processes.webConcurrency !== 1 &&
      storage.databaseUrl === undefined &&
      "WEB_CONCURRENCY: the embedded database (no DATABASE_URL) serves one process only; set DATABASE_URL to a " +
        "PostgreSQL server that every worker shares, or WEB_CONCURRENCY=1",
    port !== undefined &&
      port !== 0 &&
      port === server.port &&
      "METRICS_PORT: must differ from PORT (it is a listener of its own)",
    production &&
      token === undefined &&
      port === undefined &&
      "METRICS_TOKEN or METRICS_PORT: /metrics names every user's balance, so production serves it only with a " +
        "bearer token (METRICS_TOKEN) or on a listener of its own (METRICS_PORT, bound to METRICS_HOST); set one",
    production &&
      token === undefined &&
      port !== undefined &&
      (host === undefined || port === 0) &&
      "METRICS_HOST: a production metrics listener without METRICS_TOKEN serves every user's balance to whoever " +
        "reaches it, so name the address it binds (METRICS_HOST: the pod network, or 0.0.0.0 behind a network " +
        "policy) and a fixed METRICS_PORT, or set METRICS_TOKEN",
    (observability.langfuse.publicKey === undefined) !== (observability.langfuse.secretKey === undefined) &&
      "LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY: set both to export to Langfuse, or neither"
  ]
}

/** A PEM key that does not parse is a start-up problem, not a failure of the first request. */
const publicKeyOf = (pem: string | undefined, problems: Array<string>): KeyObject | undefined => {
  if (pem === undefined) return undefined
  try {
    return createPublicKey(pem.replace(/\\n/g, "\n"))
  } catch (cause) {
    problems.push(`JWT_PUBLIC_KEY: not a valid PEM public key (${String(cause)})`)
    return undefined
  }
}

/** The configuration from the settings' values: defaults that depend on other settings, and the parsed key. */
const build = (values: Values, version: string, problems: Array<string>) => {
  const { server, auth, providers, upstreamTimeouts, observability } = values
  const production = server.environment === "production"
  const { minOutputTokensPerSecond, ...vendors } = upstreamTimeouts
  const { tracing, langfuse } = observability
  return {
    ...values,
    server: {
      ...server,
      logLevel: logLevels.find((level) => level.toLowerCase() === server.logLevel)!,
      version
    },
    auth: { ...auth, publicKey: publicKeyOf(auth.publicKey, problems) },
    providers: { ...providers, simulate: providers.simulate ?? !production },
    /** Every provider's bounds share the slowest output rate accepted (Bounds.ts `completionBoundMs`). */
    upstreamTimeouts: {
      openai: { ...vendors.openai, minOutputTokensPerSecond },
      anthropic: { ...vendors.anthropic, minOutputTokensPerSecond },
      gemini: { ...vendors.gemini, minOutputTokensPerSecond }
    },
    observability: {
      ...observability,
      logFormat: observability.logFormat ?? (production ? "json" : "pretty"),
      metrics: { ...observability.metrics, host: observability.metrics.host ?? server.host },
      tracing: tracing.endpoint === undefined ? undefined : { ...tracing, endpoint: tracing.endpoint },
      langfuse:
        langfuse.publicKey === undefined || langfuse.secretKey === undefined
          ? undefined
          : { ...langfuse, publicKey: langfuse.publicKey, secretKey: langfuse.secretKey }
    }
  }
}

export type GatewayConfigShape = ReturnType<typeof build>
export type ProviderEndpoint = GatewayConfigShape["providers"]["openai"]
/** Bounds on one upstream call; every wait on a provider has one. */
export type UpstreamTimeouts = GatewayConfigShape["upstreamTimeouts"]["openai"]

/** The upstream bounds of a catalog provider; the simulator stands in for an OpenAI-compatible server. */
export const upstreamTimeoutsOf = (config: GatewayConfigShape, provider: ProviderName): UpstreamTimeouts =>
  provider === "simulator" ? config.upstreamTimeouts.openai : config.upstreamTimeouts[provider]

export class ConfigInvalid extends Schema.TaggedError<ConfigInvalid>()("ConfigInvalid", {
  problems: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `Invalid configuration:\n${this.problems.map((problem) => `  - ${problem}`).join("\n")}`
  }
}

/** A check of what the configuration names (a file, say); its problems join the same report. */
export type LateCheck = (config: GatewayConfigShape) => Effect.Effect<ReadonlyArray<string>>

/**
 * Reads the configuration from the current `ConfigProvider` (the environment, unless a test provides another)
 * and checks it as a whole: refused with every problem at once.
 */
export const loadConfig = (
  version: string,
  lateChecks: ReadonlyArray<LateCheck> = []
): Effect.Effect<GatewayConfigShape, ConfigInvalid> =>
  Effect.gen(function* () {
    const { values, problems } = yield* read(declaration, yield* ConfigProvider.ConfigProvider)
    const found = [...problems, ...rules(values).filter((problem) => problem !== false)]
    const config = build(values, version, found)
    for (const check of lateChecks) found.push(...(yield* check(config)))
    return found.length > 0 ? yield* new ConfigInvalid({ problems: found }) : config
  })

/** In development without JWT_SECRET, the secret kept in DATA_DIR (DevelopmentSecret.ts). */
const withDevelopmentSecret = (config: GatewayConfigShape) =>
  Effect.gen(function* () {
    if (!DevelopmentSecret.needed(config)) return config
    const { secret, created } = yield* Effect.try({
      try: () => DevelopmentSecret.loadOrCreate(config.storage.dataDir),
      catch: (cause) => new ConfigInvalid({ problems: [`JWT_SECRET: unset, and ${String(cause)}`] })
    })
    const file = DevelopmentSecret.developmentSecretFile(config.storage.dataDir)
    yield* Effect.logInfo(
      created
        ? `No JWT_SECRET: generated a development secret in ${file} (npm run token signs with it)`
        : `No JWT_SECRET: using the development secret in ${file}`
    )
    return DevelopmentSecret.withSecret(config, secret)
  })

/** The gateway's configuration, read once from the ConfigProvider and validated as a whole. */
export class GatewayConfig extends Context.Service<GatewayConfig, GatewayConfigShape>()("gateway/Config") {
  static readonly layer = (version: string) =>
    Layer.effect(GatewayConfig, Effect.flatMap(loadConfig(version), withDevelopmentSecret))

  /** A configuration already loaded (Launch.ts reads it before it decides what to run). */
  static readonly layerOf = (config: GatewayConfigShape) => Layer.effect(GatewayConfig, withDevelopmentSecret(config))

  /**
   * A configuration for tests: the defaults of a development machine plus overrides, read from a plain object.
   * Without JWT_SECRET the secret is random, never written anywhere: tests that sign tokens pass their own.
   */
  static readonly layerTest = (overrides: RawEnv = {}) =>
    Layer.effect(
      GatewayConfig,
      Effect.map(
        loadConfig("0.0.0-test").pipe(
          Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown(overrides))
        ),
        (config) =>
          DevelopmentSecret.needed(config)
            ? DevelopmentSecret.withSecret(config, randomBytes(32).toString("hex"))
            : config
      )
    )
}

/** Settings as tests write them: variable names and their text, unset when undefined. */
export type RawEnv = Readonly<Record<string, string | undefined>>
