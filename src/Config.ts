import * as EffectConfig from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { randomBytes } from "node:crypto"
import { EnvReader, type RawEnv } from "./ConfigParse.ts"
import * as DevelopmentSecret from "./DevelopmentSecret.ts"
import type { ProviderName } from "./domain/Catalog.ts"
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

/** Bounds on one upstream call; every wait on a provider has one. */
export interface UpstreamTimeouts {
  /** Setting up the connection (TCP and TLS). */
  readonly connectMs: number
  /** From sending a streamed request until the upstream starts answering (status and headers). */
  readonly firstByteMs: number
  /** The whole call, streamed or not. */
  readonly totalMs: number
  /** The longest silence allowed between two events of a stream. */
  readonly streamIdleMs: number
  /**
   * The slowest output a healthy provider is expected to keep to (UPSTREAM_MIN_OUTPUT_TOKENS_PER_SECOND, the
   * same for every provider): a non-streamed call may take its first-byte allowance plus its completion budget at
   * this rate, when that is longer than its configured bound (Bounds.ts `completionBoundMs`).
   */
  readonly minOutputTokensPerSecond: number
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
    /** How long a health check's answer is reused (concurrent callers always share one check). */
    readonly healthCacheMs: number
    readonly version: string
  }
  readonly auth: {
    /** Undefined in development without JWT_SECRET until the layer supplies the generated one (DevelopmentSecret.ts). */
    readonly secret: Redacted.Redacted<string> | undefined
    readonly publicKey: string | undefined
    readonly jwksUrl: string | undefined
    /** After fetching the JWKS, how long an unknown `kid` waits before the set is fetched again. */
    readonly jwksCooldownSeconds: number
    /** When the JWKS cannot be fetched, how long its last good keys are still used. */
    readonly jwksMaxStaleSeconds: number
    readonly algorithms: ReadonlyArray<JwtAlgorithm>
    readonly issuer: string | undefined
    readonly audience: string | undefined
    readonly clockToleranceSeconds: number
    /** Tokens whose `iat` is older than this are refused, and tokens without `iat` too; 0 turns the check off. */
    readonly maxTokenAgeMinutes: number
    /**
     * What providers are told the end user is (OpenAI `user`, Anthropic `metadata.user_id`), always derived from
     * the authenticated `sub`, never from the request body: a keyed hash (the key PROVIDER_USER_ID_KEY, else
     * the JWT secret), the `sub` itself, or nothing.
     */
    readonly providerUserId: {
      readonly mode: "hashed" | "subject" | "none"
      readonly key: Redacted.Redacted<string> | undefined
    }
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
  readonly rateLimit: {
    /** Requests one user may make in any rolling 60 seconds. */
    readonly perUserPerMinute: number
    /** Chat requests that reach an upstream, all users together, in any rolling hour. */
    readonly globalPerHour: number
    /** Reads (/v1/models, /billing/*) one user may make in any rolling 60 seconds; never counted globally. */
    readonly readsPerUserPerMinute: number
    /** Prefix of every Redis key the limiter writes, so several deployments (or test runs) can share a Redis. */
    readonly keyPrefix: string
    /** A Redis command unanswered for this long counts as an outage: the request is decided in memory. */
    readonly redisCommandTimeoutMs: number
  }
  readonly resilience: {
    readonly retry: {
      readonly enabled: boolean
      /** Attempts per model in all, the first one included. */
      readonly maxAttempts: number
      readonly baseDelayMs: number
      readonly maxDelayMs: number
      readonly exponentialBase: number
      readonly jitter: boolean
    }
    readonly breaker: {
      readonly enabled: boolean
      /** Consecutive failed upstream attempts that open a model's breaker. */
      readonly failureThreshold: number
      /** How long an open breaker refuses calls before it lets probes through. */
      readonly recoveryTimeoutMs: number
      /** Calls let through at once while half-open. */
      readonly halfOpenProbes: number
    }
    /**
     * Bound on one upstream attempt: a whole completion, or a stream up to its first chunk. A completion whose
     * budget needs longer at the slowest accepted output rate gets that long instead.
     */
    readonly attemptTimeoutMs: number
    /**
     * Bound on the upstream part of a request: every attempt, retry wait and fallback; never shorter than one
     * whole attempt at the requested model's completion budget.
     */
    readonly requestTimeoutMs: number
  }
  readonly upstreamTimeouts: {
    readonly openai: UpstreamTimeouts
    readonly anthropic: UpstreamTimeouts
    readonly gemini: UpstreamTimeouts
  }
  readonly streaming: {
    /** An SSE comment is sent after this long without output; 0 turns heartbeats off. */
    readonly heartbeatMs: number
    /** A write to the client that does not complete (its socket buffer does not drain) for this long ends the stream. */
    readonly clientWriteTimeoutMs: number
  }
  readonly processes: {
    /** Worker processes sharing the port (node:cluster); 1 serves from the launching process itself. */
    readonly webConcurrency: number
  }
  readonly billing: {
    /** What a new account starts with, in nano-dollars. */
    readonly initialBalance: Money.Nanos
    /**
     * How long a hold lives unless renewed. The process that owns it renews it every third of this while its
     * request runs (`holdRenewal`), so only the holds of a crashed or frozen process expire and are swept.
     */
    readonly holdTtlMs: number
    /** How often expired holds are looked for (also once at start-up). */
    readonly sweepIntervalMs: number
  }
  readonly observability: {
    /** JSON lines (one object per line) or readable lines. */
    readonly logFormat: "json" | "pretty"
    /** The most users `user_balance` keeps a series for; the least recently changed are dropped beyond it. */
    readonly balanceSeriesLimit: number
    /**
     * Who may read `/metrics` (it names every user's balance). With a token, a scrape must send it as a bearer
     * token; with a port, `/metrics` is served only on that listener (bound to `host`), not on the API's port.
     * Without either (development only), it answers loopback clients only.
     */
    readonly metrics: {
      readonly token: Redacted.Redacted<string> | undefined
      readonly port: number | undefined
      readonly host: string
    }
    readonly tracing:
      | {
          /** OTLP/HTTP base URL; traces go to `<endpoint>/v1/traces`. */
          readonly endpoint: string
          readonly serviceName: string
          /** Share of new traces recorded; a sampled parent (traceparent) is always followed. */
          readonly sampleRatio: number
        }
      | undefined
    readonly langfuse:
      | {
          readonly host: string
          readonly publicKey: string
          readonly secretKey: Redacted.Redacted<string>
          /** Whether prompts and completions are sent, not only their sizes, usage and cost. */
          readonly logContent: boolean
        }
      | undefined
    readonly sentryDsn: Redacted.Redacted<string> | undefined
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
  "HEALTH_CACHE_SECONDS",
  "JWT_SECRET",
  "JWT_PUBLIC_KEY",
  "JWT_JWKS_URL",
  "JWT_JWKS_COOLDOWN_SECONDS",
  "JWT_JWKS_MAX_STALE_SECONDS",
  "JWT_ALGORITHMS",
  "JWT_ISSUER",
  "JWT_AUDIENCE",
  "JWT_CLOCK_TOLERANCE_SECONDS",
  "JWT_ACCESS_TOKEN_EXPIRE_MINUTES",
  "PROVIDER_USER_ID",
  "PROVIDER_USER_ID_KEY",
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
  "RATE_LIMIT_PER_USER_PER_MINUTE",
  "RATE_LIMIT_GLOBAL_PER_HOUR",
  "RATE_LIMIT_READS_PER_USER_PER_MINUTE",
  "RATE_LIMIT_KEY_PREFIX",
  "REDIS_COMMAND_TIMEOUT_MS",
  "RETRY_ENABLED",
  "RETRY_MAX_ATTEMPTS",
  "RETRY_BASE_DELAY",
  "RETRY_MAX_DELAY",
  "RETRY_EXPONENTIAL_BASE",
  "RETRY_JITTER",
  "CIRCUIT_BREAKER_ENABLED",
  "CIRCUIT_BREAKER_FAILURE_THRESHOLD",
  "CIRCUIT_BREAKER_RECOVERY_TIMEOUT",
  "CIRCUIT_BREAKER_HALF_OPEN_PROBES",
  "UPSTREAM_ATTEMPT_TIMEOUT_SECONDS",
  "UPSTREAM_REQUEST_TIMEOUT_SECONDS",
  "UPSTREAM_MIN_OUTPUT_TOKENS_PER_SECOND",
  ...["OPENAI", "ANTHROPIC", "GEMINI"].flatMap((vendor) =>
    ["CONNECT", "FIRST_BYTE", "TOTAL", "STREAM_IDLE"].map((kind) => `${vendor}_${kind}_TIMEOUT_SECONDS`)
  ),
  "SSE_HEARTBEAT_SECONDS",
  "CLIENT_WRITE_TIMEOUT_SECONDS",
  "BILLING_INITIAL_BALANCE",
  "BILLING_HOLD_TTL_SECONDS",
  "BILLING_SWEEP_INTERVAL_SECONDS",
  "LOG_FORMAT",
  "METRICS_BALANCE_SERIES_LIMIT",
  "METRICS_TOKEN",
  "METRICS_PORT",
  "METRICS_HOST",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_SERVICE_NAME",
  "OTEL_TRACES_SAMPLER_ARG",
  "LANGFUSE_PUBLIC_KEY",
  "LANGFUSE_SECRET_KEY",
  "LANGFUSE_HOST",
  "LANGFUSE_LOG_CONTENT",
  "SENTRY_DSN",
  "WEB_CONCURRENCY"
] as const

export class ConfigInvalid extends Schema.TaggedError<ConfigInvalid>()("ConfigInvalid", {
  problems: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `Invalid configuration:\n${this.problems.map((problem) => `  - ${problem}`).join("\n")}`
  }
}

const upstreamTimeouts = (
  env: EnvReader,
  vendor: "OPENAI" | "ANTHROPIC" | "GEMINI",
  minOutputTokensPerSecond: number
): UpstreamTimeouts => {
  const seconds = (kind: string, fallback: number) =>
    env.number(`${vendor}_${kind}_TIMEOUT_SECONDS`, fallback, { min: 0.001, max: 86_400 }) * 1000
  return {
    connectMs: seconds("CONNECT", 10),
    firstByteMs: seconds("FIRST_BYTE", 60),
    totalMs: seconds("TOTAL", 600),
    streamIdleMs: seconds("STREAM_IDLE", 60),
    minOutputTokensPerSecond
  }
}

/** The upstream bounds of a catalog provider; the simulator stands in for an OpenAI-compatible server. */
export const upstreamTimeoutsOf = (config: GatewayConfigShape, provider: ProviderName): UpstreamTimeouts =>
  provider === "simulator" ? config.upstreamTimeouts.openai : config.upstreamTimeouts[provider]

/**
 * How the billing service keeps the hold of a live request (HoldRenewal.ts): renewed `1 / perTtl` of the TTL
 * after the last renewal that landed, each renewal one statement bounded at `statementTimeoutMs`, a failed one
 * tried again `retryDelayMs` later until one lands. The start-up rules on BILLING_HOLD_TTL_SECONDS rest on these.
 */
export const holdRenewal = { perTtl: 3, statementTimeoutMs: 5_000, retryDelayMs: 1_000 } as const

/**
 * A live request's hold must never expire: the sweeper would release it, and its money could be reserved twice.
 * A renewal interval must hold one renewal statement and its retry, each at its bound, so that the two thirds of
 * the TTL left after a renewal falls due hold several attempts.
 */
const readHoldTtlMs = (env: EnvReader): number => {
  const holdTtlMs = env.int("BILLING_HOLD_TTL_SECONDS", 900, { min: 1, max: 7 * 24 * 3600 }) * 1000
  const minimumTtlSeconds = (2 * holdRenewal.statementTimeoutMs * holdRenewal.perTtl) / 1000
  env.require(
    holdTtlMs / holdRenewal.perTtl >= 2 * holdRenewal.statementTimeoutMs,
    `BILLING_HOLD_TTL_SECONDS: must be at least ${minimumTtlSeconds}, got ${holdTtlMs / 1000}. A request renews its ` +
      `hold every third of the TTL, and a renewal (at most ${holdRenewal.statementTimeoutMs / 1000} s) and its retry ` +
      "must fit in one interval, or the hold of a live request could expire and be released"
  )
  return holdTtlMs
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

// --- Observability: logs, metrics, tracing (OpenTelemetry), Langfuse, Sentry ---
/** Shortest METRICS_TOKEN accepted: a bearer token guessable in a scrape interval protects nothing. */
export const minimumMetricsTokenLength = 24

const readMetricsAccess = (
  env: EnvReader,
  production: boolean,
  server: { readonly port: number; readonly host: string }
): GatewayConfigShape["observability"]["metrics"] => {
  const token = env.string("METRICS_TOKEN")
  env.require(
    token === undefined || (token.length >= minimumMetricsTokenLength && /^[\x21-\x7e]+$/.test(token)),
    `METRICS_TOKEN: expected at least ${minimumMetricsTokenLength} printable ASCII characters without spaces`
  )
  const port = env.has("METRICS_PORT") ? env.int("METRICS_PORT", 0, { min: 0, max: 65535 }) : undefined
  env.require(
    port === undefined || port === 0 || port !== server.port,
    "METRICS_PORT: must differ from PORT (it is a listener of its own)"
  )
  env.require(
    !production || token !== undefined || port !== undefined,
    "METRICS_TOKEN or METRICS_PORT: /metrics names every user's balance, so production serves it only with a " +
      "bearer token (METRICS_TOKEN) or on a listener of its own (METRICS_PORT, bound to METRICS_HOST); set one"
  )
  const host = env.string("METRICS_HOST")
  env.require(
    !production || token !== undefined || port === undefined || (host !== undefined && port !== 0),
    "METRICS_HOST: a production metrics listener without METRICS_TOKEN serves every user's balance to whoever " +
      "reaches it, so name the address it binds (METRICS_HOST: the pod network, or 0.0.0.0 behind a network " +
      "policy) and a fixed METRICS_PORT, or set METRICS_TOKEN"
  )
  return { token: redacted(token), port, host: host ?? server.host }
}

const readObservability = (
  env: EnvReader,
  production: boolean,
  server: { readonly port: number; readonly host: string }
): GatewayConfigShape["observability"] => {
  const endpoint = env.url("OTEL_EXPORTER_OTLP_ENDPOINT")
  const publicKey = env.string("LANGFUSE_PUBLIC_KEY")
  const secretKey = env.string("LANGFUSE_SECRET_KEY")
  env.require(
    (publicKey === undefined) === (secretKey === undefined),
    "LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY: set both to export to Langfuse, or neither"
  )
  const langfuseHost = env.url("LANGFUSE_HOST", "https://cloud.langfuse.com")
  const logContent = env.bool("LANGFUSE_LOG_CONTENT", false)
  const sentryDsn = env.url("SENTRY_DSN")
  env.require(
    sentryDsn === undefined || /^https?:\/\/[^@/]+@[^/]+\/.+$/.test(sentryDsn),
    "SENTRY_DSN: expected a DSN such as https://<key>@<host>/<project>"
  )
  return {
    logFormat: env.literal("LOG_FORMAT", ["json", "pretty"], production ? "json" : "pretty"),
    balanceSeriesLimit: env.int("METRICS_BALANCE_SERIES_LIMIT", 10_000, { min: 0, max: 1_000_000 }),
    metrics: readMetricsAccess(env, production, server),
    tracing:
      endpoint === undefined
        ? undefined
        : {
            endpoint,
            serviceName: env.string("OTEL_SERVICE_NAME", "llm-gateway"),
            sampleRatio: env.number("OTEL_TRACES_SAMPLER_ARG", 1, { min: 0, max: 1 })
          },
    langfuse:
      publicKey === undefined || secretKey === undefined
        ? undefined
        : { host: langfuseHost, publicKey, secretKey: Redacted.make(secretKey), logContent },
    sentryDsn: redacted(sentryDsn)
  }
}

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

  // Without JWT_SECRET, a development gateway generates one and keeps it in DATA_DIR (DevelopmentSecret.ts).
  const secret = env.string("JWT_SECRET")
  if (symmetric) {
    env.require(!production || secret !== undefined, "JWT_SECRET: required for HS* algorithms in production")
    env.require(
      !production || secret === undefined || Buffer.byteLength(secret) >= 32,
      "JWT_SECRET: must be at least 32 bytes in production"
    )
  }
  const providerUserIdMode = env.literal("PROVIDER_USER_ID", ["hashed", "subject", "none"], "hashed")
  const providerUserIdKey = env.string("PROVIDER_USER_ID_KEY")
  env.require(
    providerUserIdKey === undefined || Buffer.byteLength(providerUserIdKey) >= 32,
    "PROVIDER_USER_ID_KEY: must be at least 32 bytes"
  )
  env.require(
    !production || providerUserIdMode !== "hashed" || providerUserIdKey !== undefined || symmetric,
    "PROVIDER_USER_ID_KEY: required in production for PROVIDER_USER_ID=hashed with public-key JWT algorithms " +
      "(there is no JWT secret to key the hash with); or set PROVIDER_USER_ID=subject or none"
  )
  const publicKey = env.string("JWT_PUBLIC_KEY")?.replace(/\\n/g, "\n")
  const jwksUrl = env.url("JWT_JWKS_URL")
  if (asymmetric) {
    env.require(
      publicKey !== undefined || jwksUrl !== undefined,
      "JWT_PUBLIC_KEY or JWT_JWKS_URL: one is required for public-key algorithms"
    )
  }

  // --- Resilience: retries, circuit breakers, upstream deadlines (seconds in the environment, as the spec shows) ---
  const millis = (seconds: number) => Math.round(seconds * 1000)
  const retryBaseDelay = env.number("RETRY_BASE_DELAY", 1, { min: 0, max: 3600 })
  const retryMaxDelay = env.number("RETRY_MAX_DELAY", 60, { min: 0, max: 3600 })
  env.require(retryBaseDelay <= retryMaxDelay, "RETRY_BASE_DELAY: must not exceed RETRY_MAX_DELAY")
  const resilience: GatewayConfigShape["resilience"] = {
    retry: {
      enabled: env.bool("RETRY_ENABLED", true),
      maxAttempts: env.int("RETRY_MAX_ATTEMPTS", 3, { min: 1, max: 20 }),
      baseDelayMs: millis(retryBaseDelay),
      maxDelayMs: millis(retryMaxDelay),
      exponentialBase: env.number("RETRY_EXPONENTIAL_BASE", 2, { min: 1, max: 10 }),
      jitter: env.bool("RETRY_JITTER", true)
    },
    breaker: {
      enabled: env.bool("CIRCUIT_BREAKER_ENABLED", true),
      failureThreshold: env.int("CIRCUIT_BREAKER_FAILURE_THRESHOLD", 5, { min: 1, max: 10_000 }),
      recoveryTimeoutMs: millis(env.number("CIRCUIT_BREAKER_RECOVERY_TIMEOUT", 60, { min: 0.001, max: 86_400 })),
      halfOpenProbes: env.int("CIRCUIT_BREAKER_HALF_OPEN_PROBES", 1, { min: 1, max: 1000 })
    },
    attemptTimeoutMs: millis(env.number("UPSTREAM_ATTEMPT_TIMEOUT_SECONDS", 120, { min: 0.001, max: 3600 })),
    requestTimeoutMs: millis(env.number("UPSTREAM_REQUEST_TIMEOUT_SECONDS", 300, { min: 0.001, max: 3600 }))
  }
  // Public measurements of the catalog's slowest model (gpt-4) range from 94 to 196 ms per output token, i.e.
  // about 5 to 11 tokens/s; at 5 a completion at any rate seen in practice finishes (docs/timeouts.md).
  const minOutputTokensPerSecond = env.number("UPSTREAM_MIN_OUTPUT_TOKENS_PER_SECOND", 5, { min: 0.1, max: 10_000 })

  const port = env.int("PORT", 8000, { min: 0, max: 65535 })
  const host = env.string("HOST", "0.0.0.0")
  const webConcurrency = env.int("WEB_CONCURRENCY", 1, { min: 1, max: 64 })
  env.require(
    webConcurrency === 1 || env.has("DATABASE_URL"),
    "WEB_CONCURRENCY: the embedded database (no DATABASE_URL) serves one process only; set DATABASE_URL to a " +
      "PostgreSQL server that every worker shares, or WEB_CONCURRENCY=1"
  )
  const config: GatewayConfigShape = {
    server: {
      port,
      host,
      environment,
      logLevel: env.literal("LOG_LEVEL", ["trace", "debug", "info", "warn", "error", "fatal", "none"], "info"),
      maxBodyBytes: env.int("MAX_REQUEST_BODY_BYTES", 4 * 1024 * 1024, { min: 1024, max: 64 * 1024 * 1024 }),
      shutdownTimeoutMs: env.number("SHUTDOWN_TIMEOUT_SECONDS", 30, { min: 0, max: 3600 }) * 1000,
      healthCacheMs: millis(env.number("HEALTH_CACHE_SECONDS", 1, { min: 0, max: 60 })),
      version
    },
    auth: {
      secret: redacted(secret),
      publicKey,
      jwksUrl,
      jwksCooldownSeconds: env.int("JWT_JWKS_COOLDOWN_SECONDS", 30, { min: 0, max: 3600 }),
      jwksMaxStaleSeconds: env.int("JWT_JWKS_MAX_STALE_SECONDS", 3600, { min: 600, max: 7 * 24 * 3600 }),
      algorithms: algorithms as ReadonlyArray<JwtAlgorithm>,
      issuer: env.string("JWT_ISSUER"),
      audience: env.string("JWT_AUDIENCE"),
      clockToleranceSeconds: env.int("JWT_CLOCK_TOLERANCE_SECONDS", 30, { min: 0, max: 600 }),
      maxTokenAgeMinutes: env.int("JWT_ACCESS_TOKEN_EXPIRE_MINUTES", 30, { min: 0, max: 60 * 24 * 365 }),
      providerUserId: { mode: providerUserIdMode, key: redacted(providerUserIdKey) }
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
    rateLimit: {
      // The sliding log keeps one entry per admitted request in the window, so the ceiling bounds its memory.
      perUserPerMinute: env.int("RATE_LIMIT_PER_USER_PER_MINUTE", 60, { min: 1, max: 100_000_000 }),
      globalPerHour: env.int("RATE_LIMIT_GLOBAL_PER_HOUR", 1000, { min: 1, max: 100_000_000 }),
      readsPerUserPerMinute: env.int("RATE_LIMIT_READS_PER_USER_PER_MINUTE", 300, { min: 1, max: 100_000_000 }),
      keyPrefix: env.string("RATE_LIMIT_KEY_PREFIX", "gateway:ratelimit:"),
      redisCommandTimeoutMs: env.int("REDIS_COMMAND_TIMEOUT_MS", 150, { min: 10, max: 10_000 })
    },
    resilience,
    upstreamTimeouts: {
      openai: upstreamTimeouts(env, "OPENAI", minOutputTokensPerSecond),
      anthropic: upstreamTimeouts(env, "ANTHROPIC", minOutputTokensPerSecond),
      gemini: upstreamTimeouts(env, "GEMINI", minOutputTokensPerSecond)
    },
    streaming: {
      heartbeatMs: env.number("SSE_HEARTBEAT_SECONDS", 15, { min: 0, max: 3600 }) * 1000,
      clientWriteTimeoutMs: millis(env.number("CLIENT_WRITE_TIMEOUT_SECONDS", 30, { min: 0.1, max: 3600 }))
    },
    // --- Processes: how many workers serve the port ---
    processes: {
      webConcurrency
    },
    billing: {
      initialBalance: readAmount(env, "BILLING_INITIAL_BALANCE", "100.0"),
      holdTtlMs: readHoldTtlMs(env),
      sweepIntervalMs: env.int("BILLING_SWEEP_INTERVAL_SECONDS", 60, { min: 1, max: 24 * 3600 }) * 1000
    },
    observability: readObservability(env, production, { port, host })
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
        if (parsed instanceof ConfigInvalid) return yield* parsed
        if (!DevelopmentSecret.needed(parsed)) return parsed
        const { secret, created } = yield* Effect.try({
          try: () => DevelopmentSecret.loadOrCreate(parsed.storage.dataDir),
          catch: (cause) => new ConfigInvalid({ problems: [`JWT_SECRET: unset, and ${String(cause)}`] })
        })
        const file = DevelopmentSecret.developmentSecretFile(parsed.storage.dataDir)
        yield* Effect.logInfo(
          created
            ? `No JWT_SECRET: generated a development secret in ${file} (npm run token signs with it)`
            : `No JWT_SECRET: using the development secret in ${file}`
        )
        return DevelopmentSecret.withSecret(parsed, secret)
      })
    )

  /**
   * A configuration for tests: the defaults of a development machine plus overrides. Without JWT_SECRET the
   * secret is random, never written anywhere: tests that sign tokens pass their own.
   */
  static readonly layerTest = (overrides: RawEnv = {}) => {
    const parsed = parseConfig(overrides, "0.0.0-test")
    if (parsed instanceof ConfigInvalid) return Layer.effect(GatewayConfig, parsed)
    return Layer.succeed(
      GatewayConfig,
      DevelopmentSecret.needed(parsed) ? DevelopmentSecret.withSecret(parsed, randomBytes(32).toString("hex")) : parsed
    )
  }
}
