import { Config as EffectConfig, Context, Effect, Layer, Redacted, Schema } from "effect"
import { EnvReader, type RawEnv } from "./ConfigParse.ts"
import * as Money from "./domain/Money.ts"

export type Environment = "development" | "production"
export type LogLevelName = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "none"
export type JwtAlgorithm =
  "HS256" | "HS384" | "HS512" | "RS256" | "RS384" | "RS512" | "PS256" | "ES256" | "ES384" | "EdDSA"

const jwtAlgorithms: ReadonlyArray<JwtAlgorithm> = [
  "HS256",
  "HS384",
  "HS512",
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "ES256",
  "ES384",
  "EdDSA"
]

export interface ProviderEndpoint {
  readonly apiKey: Redacted.Redacted<string> | undefined
  readonly baseUrl: string
}

export interface GatewayConfigShape {
  readonly server: {
    readonly port: number
    readonly host: string
    readonly environment: Environment
    readonly logLevel: LogLevelName
    /** Largest accepted request body, in bytes. */
    readonly maxBodyBytes: number
    /** How long in-flight requests and streams may run after SIGTERM. */
    readonly shutdownTimeoutMs: number
    readonly version: string
  }
  readonly auth: {
    readonly secret: Redacted.Redacted<string> | undefined
    readonly publicKey: string | undefined
    readonly jwksUrl: string | undefined
    readonly algorithms: ReadonlyArray<JwtAlgorithm>
    readonly issuer: string | undefined
    readonly audience: string | undefined
    readonly clockToleranceSeconds: number
    /** Tokens whose `iat` is older than this are refused; 0 turns the check off. */
    readonly maxTokenAgeMinutes: number
  }
  readonly storage: {
    readonly databaseUrl: Redacted.Redacted<string> | undefined
    readonly redisUrl: Redacted.Redacted<string> | undefined
    /** Where the embedded Postgres keeps its files when no DATABASE_URL is set. */
    readonly dataDir: string
  }
  readonly catalog: {
    readonly modelsFile: string | undefined
    readonly listFormat: "spec" | "openai"
  }
  readonly providers: {
    readonly simulate: boolean
    /** Pause between simulated stream chunks. */
    readonly simulatorChunkDelayMs: number
    readonly openai: ProviderEndpoint
    readonly anthropic: ProviderEndpoint
    readonly gemini: ProviderEndpoint
  }
  readonly billing: {
    /** What a new account starts with, in nano-dollars. */
    readonly initialBalance: Money.Nanos
    /** How long a hold lives; a hold older than this belongs to a crashed process. Longer than any request. */
    readonly holdTtlMs: number
    /** How often expired holds are looked for (also once at start-up). */
    readonly sweepIntervalMs: number
  }
}

/** Every variable the gateway reads; `.env.example` documents the same list. */
export const environmentVariables = [
  "PORT",
  "HOST",
  "ENVIRONMENT",
  "LOG_LEVEL",
  "MAX_REQUEST_BODY_BYTES",
  "SHUTDOWN_TIMEOUT_SECONDS",
  "JWT_SECRET",
  "JWT_PUBLIC_KEY",
  "JWT_JWKS_URL",
  "JWT_ALGORITHMS",
  "JWT_ISSUER",
  "JWT_AUDIENCE",
  "JWT_CLOCK_TOLERANCE_SECONDS",
  "JWT_ACCESS_TOKEN_EXPIRE_MINUTES",
  "DATABASE_URL",
  "REDIS_URL",
  "DATA_DIR",
  "MODELS_FILE",
  "MODELS_LIST_FORMAT",
  "SIMULATE_PROVIDERS",
  "SIMULATOR_CHUNK_DELAY_MS",
  "OPENAI_API_KEY",
  "OPENAI_BASE_URL",
  "ANTHROPIC_API_KEY",
  "ANTHROPIC_BASE_URL",
  "GEMINI_API_KEY",
  "GEMINI_BASE_URL",
  "BILLING_INITIAL_BALANCE",
  "BILLING_HOLD_TTL_SECONDS",
  "BILLING_SWEEP_INTERVAL_SECONDS"
] as const

/** A development-only secret, so `npm start` works on a bare machine. Production refuses it. */
export const developmentJwtSecret = "development-secret-change-me-0123456789"

export class ConfigInvalid extends Schema.TaggedError<ConfigInvalid>()("ConfigInvalid", {
  problems: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `Invalid configuration:\n${this.problems.map((problem) => `  - ${problem}`).join("\n")}`
  }
}

/** A non-negative amount of USD with at most 9 decimals, read exactly (never through a float). */
const readAmount = (env: EnvReader, name: string, fallback: string): Money.Nanos => {
  const text = env.string(name, fallback)
  const amount = Money.parse(text)
  const maximum = 1_000_000_000n * 1_000_000_000n
  env.require(
    amount !== undefined && amount >= 0n && amount <= maximum,
    `${name}: expected an amount of USD between 0 and 1000000000 with at most 9 decimals, got ${JSON.stringify(text)}`
  )
  return amount ?? 0n
}

const redacted = (value: string | undefined) => (value === undefined ? undefined : Redacted.make(value))

/** Parses the raw environment; pure, so tests can feed it plain objects. */
export const parseConfig = (raw: RawEnv, version: string): GatewayConfigShape | ConfigInvalid => {
  const env = new EnvReader(raw)
  const environment = env.literal("ENVIRONMENT", ["development", "production"], "development")
  const production = environment === "production"

  const algorithms = env.list("JWT_ALGORITHMS", ["HS256"])
  const unknownAlgorithms = algorithms.filter((alg) => !jwtAlgorithms.includes(alg as JwtAlgorithm))
  env.require(
    unknownAlgorithms.length === 0,
    `JWT_ALGORITHMS: unsupported ${unknownAlgorithms.join(", ")} (allowed: ${jwtAlgorithms.join(", ")}; "none" is never allowed)`
  )
  const symmetric = algorithms.some((alg) => alg.startsWith("HS"))
  const asymmetric = algorithms.some((alg) => !alg.startsWith("HS"))
  env.require(
    !(symmetric && asymmetric),
    "JWT_ALGORITHMS: mixing HMAC (HS*) and public-key algorithms invites key confusion; choose one family"
  )

  const secret = env.string("JWT_SECRET") ?? (production || asymmetric ? undefined : developmentJwtSecret)
  if (symmetric) {
    env.require(secret !== undefined, "JWT_SECRET: required for HS* algorithms")
    env.require(
      !production || (secret !== undefined && Buffer.byteLength(secret) >= 32),
      "JWT_SECRET: must be at least 32 bytes in production"
    )
    env.require(
      !production || secret !== developmentJwtSecret,
      "JWT_SECRET: the development default cannot be used in production"
    )
  }
  const publicKey = env.string("JWT_PUBLIC_KEY")?.replace(/\\n/g, "\n")
  const jwksUrl = env.url("JWT_JWKS_URL")
  if (asymmetric) {
    env.require(
      publicKey !== undefined || jwksUrl !== undefined,
      "JWT_PUBLIC_KEY or JWT_JWKS_URL: one is required for public-key algorithms"
    )
  }

  const config: GatewayConfigShape = {
    server: {
      port: env.int("PORT", 8000, { min: 0, max: 65535 }),
      host: env.string("HOST", "0.0.0.0"),
      environment,
      logLevel: env.literal("LOG_LEVEL", ["trace", "debug", "info", "warn", "error", "fatal", "none"], "info"),
      maxBodyBytes: env.int("MAX_REQUEST_BODY_BYTES", 4 * 1024 * 1024, { min: 1024, max: 64 * 1024 * 1024 }),
      shutdownTimeoutMs: env.number("SHUTDOWN_TIMEOUT_SECONDS", 30, { min: 0, max: 3600 }) * 1000,
      version
    },
    auth: {
      secret: redacted(secret),
      publicKey,
      jwksUrl,
      algorithms: algorithms as ReadonlyArray<JwtAlgorithm>,
      issuer: env.string("JWT_ISSUER"),
      audience: env.string("JWT_AUDIENCE"),
      clockToleranceSeconds: env.int("JWT_CLOCK_TOLERANCE_SECONDS", 30, { min: 0, max: 600 }),
      maxTokenAgeMinutes: env.int("JWT_ACCESS_TOKEN_EXPIRE_MINUTES", 30, { min: 0, max: 60 * 24 * 365 })
    },
    storage: {
      databaseUrl: redacted(env.url("DATABASE_URL")),
      redisUrl: redacted(env.url("REDIS_URL")),
      dataDir: env.string("DATA_DIR", ".data")
    },
    catalog: {
      modelsFile: env.string("MODELS_FILE"),
      listFormat: env.literal("MODELS_LIST_FORMAT", ["spec", "openai"], "spec")
    },
    providers: {
      simulate: env.bool("SIMULATE_PROVIDERS", !production),
      simulatorChunkDelayMs: env.int("SIMULATOR_CHUNK_DELAY_MS", 20, { min: 0, max: 10_000 }),
      openai: {
        apiKey: redacted(env.string("OPENAI_API_KEY")),
        baseUrl: env.url("OPENAI_BASE_URL", "https://api.openai.com/v1")
      },
      anthropic: {
        apiKey: redacted(env.string("ANTHROPIC_API_KEY")),
        baseUrl: env.url("ANTHROPIC_BASE_URL", "https://api.anthropic.com")
      },
      gemini: {
        apiKey: redacted(env.string("GEMINI_API_KEY")),
        baseUrl: env.url("GEMINI_BASE_URL", "https://generativelanguage.googleapis.com")
      }
    },
    billing: {
      initialBalance: readAmount(env, "BILLING_INITIAL_BALANCE", "100.0"),
      holdTtlMs: env.int("BILLING_HOLD_TTL_SECONDS", 900, { min: 10, max: 7 * 24 * 3600 }) * 1000,
      sweepIntervalMs: env.int("BILLING_SWEEP_INTERVAL_SECONDS", 60, { min: 1, max: 24 * 3600 }) * 1000
    }
  }
  return env.problems.length > 0 ? new ConfigInvalid({ problems: env.problems }) : config
}

const readEnvironment = Effect.gen(function* () {
  const raw: Record<string, string | undefined> = {}
  for (const name of environmentVariables) {
    const value = yield* EffectConfig.option(EffectConfig.String(name))
    raw[name] = value._tag === "Some" ? value.value : undefined
  }
  return raw
})

/** The gateway's configuration, read once from the ConfigProvider and validated as a whole. */
export class GatewayConfig extends Context.Service<GatewayConfig, GatewayConfigShape>()("gateway/Config") {
  static readonly layer = (version: string) =>
    Layer.effect(
      GatewayConfig,
      Effect.gen(function* () {
        const raw = yield* readEnvironment.pipe(Effect.orDie)
        const parsed = parseConfig(raw, version)
        return parsed instanceof ConfigInvalid ? yield* parsed : parsed
      })
    )

  /** A configuration for tests: the defaults of a development machine plus overrides. */
  static readonly layerTest = (overrides: RawEnv = {}) => {
    const parsed = parseConfig(overrides, "0.0.0-test")
    return parsed instanceof ConfigInvalid ? Layer.effect(GatewayConfig, parsed) : Layer.succeed(GatewayConfig, parsed)
  }
}
