/**
 * Every environment variable the gateway reads, declared once (Setting.ts): its Schema and checks, its default,
 * its documentation. The configuration's type is derived from this declaration (Config.ts), and
 * docs/configuration.md and .env.example are generated from it (scripts/generate-docs.ts).
 */
import * as Duration from "effect/Duration"
import * as LogLevel from "effect/LogLevel"
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"
import * as Money from "../domain/Money.ts"
import {
  choice,
  custom,
  decimal,
  duration,
  flag,
  integer,
  onlyWith,
  secret,
  secretUrl,
  settingsOf,
  text,
  url
} from "./Setting.ts"

const jwtAlgorithms = [
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
] as const
export type JwtAlgorithm = (typeof jwtAlgorithms)[number]

/** JWT_ALGORITHMS: a comma-separated allow-list. */
const algorithmList = Schema.String.pipe(
  Schema.decodeTo(
    Schema.Array(Schema.Literals(jwtAlgorithms)),
    SchemaTransformation.transform<ReadonlyArray<JwtAlgorithm>, string>({
      decode: (list) =>
        list
          .split(",")
          .map((item) => item.trim())
          .filter((item) => item !== "") as ReadonlyArray<JwtAlgorithm>,
      encode: (algorithms) => algorithms.join(",")
    })
  )
)

const unsupportedAlgorithms = (list: string) => {
  const unknown = list
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "" && !(jwtAlgorithms as ReadonlyArray<string>).includes(item))
  return `unsupported ${unknown.join(", ")} (allowed: ${jwtAlgorithms.join(", ")}; "none" is never allowed)`
}

/** Effect's log levels, but `All`: LOG_LEVEL names them in lowercase. */
export const logLevels = LogLevel.values.filter((level) => level !== "All")

/**
 * How the billing service keeps the hold of a live request (HoldRenewal.ts): renewed `1 / perTtl` of the TTL
 * after the last renewal that landed, each renewal one statement bounded at `statementTimeoutMs`, a failed one
 * tried again `retryDelayMs` later until one lands. The start-up rule on BILLING_HOLD_TTL_SECONDS rests on these.
 */
export const holdRenewal = { perTtl: 3, statementTimeoutMs: 5_000, retryDelayMs: 1_000 } as const

/**
 * A live request's hold must never expire: the sweeper would release it, and its money could be reserved twice.
 * A renewal interval must hold one renewal statement and its retry, each at its bound, so that the two thirds of
 * the TTL left after a renewal falls due hold several attempts.
 */
const holdTtlRule = (ttl: Duration.Duration): string | undefined => {
  const minimumSeconds = (2 * holdRenewal.statementTimeoutMs * holdRenewal.perTtl) / 1000
  return Duration.toSeconds(ttl) >= minimumSeconds
    ? undefined
    : `must be at least ${minimumSeconds}, got ${Duration.toSeconds(ttl)}. A request renews its hold every third of ` +
        `the TTL, and a renewal (at most ${holdRenewal.statementTimeoutMs / 1000} s) and its retry must fit in one ` +
        "interval, or the hold of a live request could expire and be released"
}

/** A non-negative amount of USD with at most 9 decimals, read exactly (never through a float). */
const amount = (text: string): Money.Nanos | undefined => {
  const parsed = Money.parse(text)
  return parsed !== undefined && parsed >= 0n && parsed <= 1_000_000_000n * 1_000_000_000n ? parsed : undefined
}

const usdAmount = Schema.String.check(Schema.makeFilter((text: string) => amount(text) !== undefined)).pipe(
  Schema.decodeTo(
    Schema.BigInt,
    SchemaTransformation.transform({ decode: (text) => amount(text)!, encode: Money.format })
  )
)

/** Shortest METRICS_TOKEN accepted: a bearer token guessable in a scrape interval protects nothing. */
const minimumMetricsTokenLength = 24

const atLeast32Bytes = Schema.String.check(Schema.makeFilter((text: string) => Buffer.byteLength(text) >= 32))

const seconds = duration("seconds")
const wholeSeconds = duration("seconds", { integer: true })
const wholeMinutes = duration("minutes", { integer: true })
const milliseconds = duration("milliseconds", { integer: true })

/** A bound on upstream calls, in seconds. */
const upstreamBound = (name: string, fallback: string, doc: string) =>
  seconds(name, { min: 0.001, max: 86_400, default: fallback, doc })

const vendorTimeouts = (vendor: string, label: string) => ({
  connect: upstreamBound(`${vendor}_CONNECT_TIMEOUT_SECONDS`, "10", `Connection set-up (TCP, TLS) to ${label}`),
  firstByte: upstreamBound(
    `${vendor}_FIRST_BYTE_TIMEOUT_SECONDS`,
    "60",
    `A streamed request to ${label}: until it starts answering (status and headers)`
  ),
  total: upstreamBound(
    `${vendor}_TOTAL_TIMEOUT_SECONDS`,
    "600",
    `One call to ${label}, streamed or not (the only bound on a plain answer, stretched to its budget as above)`
  ),
  streamIdle: upstreamBound(
    `${vendor}_STREAM_IDLE_TIMEOUT_SECONDS`,
    "60",
    `The longest silence between two events of a ${label} stream`
  )
})

const endpoint = (vendor: string, baseUrl: string, label: string) => ({
  apiKey: secret(`${vendor}_API_KEY`, { doc: `API key of ${label}` }),
  baseUrl: url(`${vendor}_BASE_URL`, { default: baseUrl, doc: `${label}, or any server speaking its API` })
})

const otlpEndpoint = url("OTEL_EXPORTER_OTLP_ENDPOINT", {
  doc: "OpenTelemetry collector (OTLP/HTTP, `<endpoint>/v1/traces`); unset: tracing off, at no cost"
})

/** Every setting, shaped as the configuration is. */
export const declaration = {
  server: {
    // First: it decides several defaults below.
    environment: choice("ENVIRONMENT", ["development", "production"], {
      default: "development",
      doc: "Production means JSON logs, strict secrets, no simulation by default"
    }),
    port: integer("PORT", { min: 0, max: 65535, default: "8000", doc: "HTTP port" }),
    host: text("HOST", { default: "0.0.0.0", doc: "Listen address" }),
    logLevel: choice(
      "LOG_LEVEL",
      logLevels.map((level) => level.toLowerCase()),
      { default: "info", doc: "The least severe level logged" }
    ),
    maxBodyBytes: integer("MAX_REQUEST_BODY_BYTES", {
      min: 1024,
      max: 64 * 1024 * 1024,
      default: "4194304",
      doc: "Larger request bodies get 413"
    }),
    shutdownTimeout: seconds("SHUTDOWN_TIMEOUT_SECONDS", {
      min: 0,
      max: 3600,
      default: "30",
      doc: "After SIGTERM, how long in-flight requests and streams may finish"
    }),
    healthCache: seconds("HEALTH_CACHE_SECONDS", {
      min: 0,
      max: 60,
      default: "1",
      doc: "A health check's answer is reused this long; concurrent callers always share one check"
    })
  },
  auth: {
    secret: secret("JWT_SECRET", {
      defaultText: "generated in `DATA_DIR` (development)",
      doc: "HMAC secret; required for HS\\* and at least 32 bytes in production"
    }),
    publicKey: text("JWT_PUBLIC_KEY", {
      doc: "PEM public key for RS\\*/PS\\*/ES\\*/EdDSA tokens (`\\n` escapes allowed)"
    }),
    jwksUrl: url("JWT_JWKS_URL", {
      doc: "JWKS endpoint for public-key tokens (cached, refreshed on unknown `kid`)"
    }),
    jwksCooldown: wholeSeconds("JWT_JWKS_COOLDOWN_SECONDS", {
      min: 0,
      max: 3600,
      default: "30",
      doc: "At most one JWKS fetch per this long: unknown `kid`, due refresh, retry after a failure"
    }),
    jwksMaxStale: wholeSeconds("JWT_JWKS_MAX_STALE_SECONDS", {
      min: 600,
      max: 7 * 24 * 3600,
      default: "3600",
      doc: "If the JWKS cannot be fetched, its last good keys are used for at most this long"
    }),
    algorithms: custom("JWT_ALGORITHMS", algorithmList, unsupportedAlgorithms, {
      default: "HS256",
      doc: "Allowed algorithms, comma-separated; `none` is never allowed, HS\\* and public-key algorithms cannot be mixed"
    }),
    issuer: text("JWT_ISSUER", { doc: "Required `iss` of tokens, when set" }),
    audience: text("JWT_AUDIENCE", { doc: "Required `aud` of tokens, when set" }),
    clockTolerance: wholeSeconds("JWT_CLOCK_TOLERANCE_SECONDS", {
      min: 0,
      max: 600,
      default: "30",
      doc: "Allowed clock skew for `exp`, `nbf`, `iat`"
    }),
    maxTokenAge: wholeMinutes("JWT_ACCESS_TOKEN_EXPIRE_MINUTES", {
      min: 0,
      max: 60 * 24 * 365,
      default: "30",
      doc: "Tokens whose `iat` is older, or that have no `iat`, are refused (0 turns it off)"
    }),
    /**
     * What providers are told the end user is (OpenAI `user`, Anthropic `metadata.user_id`), always derived from
     * the authenticated `sub`, never from the request body.
     */
    providerUserId: {
      mode: choice("PROVIDER_USER_ID", ["hashed", "subject", "none"], {
        default: "hashed",
        doc: "End user providers see: a keyed hash of `sub`, `sub` itself, or nothing; never the body's `user`"
      }),
      key: secret("PROVIDER_USER_ID_KEY", {
        schema: atLeast32Bytes,
        requirement: "must be at least 32 bytes",
        defaultText: "the JWT secret",
        doc: "Key of that hash (≥ 32 bytes); required in production with public-key JWT algorithms"
      })
    }
  },
  storage: {
    databaseUrl: secretUrl("DATABASE_URL", {
      defaultText: "embedded",
      doc: "PostgreSQL URL; unset runs an embedded PGlite in `DATA_DIR`"
    }),
    redisUrl: secretUrl("REDIS_URL", { defaultText: "in-memory", doc: "Redis URL for shared rate limits" }),
    dataDir: text("DATA_DIR", {
      default: ".data",
      doc: "Where the embedded database and the generated development JWT secret live"
    })
  },
  catalog: {
    modelsFile: text("MODELS_FILE", {
      defaultText: "built-in",
      doc: "JSON model catalog replacing the built-in one ([below](#the-model-catalog))"
    }),
    listFormat: choice("MODELS_LIST_FORMAT", ["spec", "openai"], {
      default: "spec",
      doc: 'Shape of `GET /v1/models`: a JSON array, as the spec shows, or `{"object": "list", "data": [...]}`, as OpenAI SDKs expect'
    })
  },
  providers: {
    simulate: flag("SIMULATE_PROVIDERS", {
      defaultText: "`true` in development",
      doc: "Serve models whose provider has no API key with the simulator"
    }),
    simulatorChunkDelay: milliseconds("SIMULATOR_CHUNK_DELAY_MS", {
      min: 0,
      max: 10_000,
      default: "20",
      doc: "Pause between simulated stream chunks"
    }),
    openai: endpoint("OPENAI", "https://api.openai.com/v1", "OpenAI"),
    anthropic: endpoint("ANTHROPIC", "https://api.anthropic.com", "Anthropic"),
    gemini: endpoint("GEMINI", "https://generativelanguage.googleapis.com", "Google Gemini")
  },
  rateLimit: {
    // The sliding log keeps one entry per admitted request in the window, so the ceiling bounds its memory.
    perUserPerMinute: integer("RATE_LIMIT_PER_USER_PER_MINUTE", {
      min: 1,
      max: 100_000_000,
      default: "60",
      doc: "Requests one user may make in any rolling 60 seconds"
    }),
    globalPerHour: integer("RATE_LIMIT_GLOBAL_PER_HOUR", {
      min: 1,
      max: 100_000_000,
      default: "1000",
      doc: "Chat requests reaching an upstream, all users together, in any rolling hour"
    }),
    readsPerUserPerMinute: integer("RATE_LIMIT_READS_PER_USER_PER_MINUTE", {
      min: 1,
      max: 100_000_000,
      default: "300",
      doc: "`/v1/models` and `/billing/*` requests one user may make in any rolling 60 seconds (never counted globally)"
    }),
    tokensPerUserPerMinute: integer("RATE_LIMIT_TOKENS_PER_USER_PER_MINUTE", {
      min: 1,
      max: 10_000_000_000,
      doc:
        "Tokens one user's chat requests may hold in any rolling 60 seconds: each is admitted against its upper " +
        "bound (prompt ceiling + completion budget × `n`) and corrected to its usage when it settles; unset: off"
    }),
    keyPrefix: text("RATE_LIMIT_KEY_PREFIX", {
      default: "gateway:ratelimit:",
      doc: "Prefix of the limiter's Redis keys (gateways sharing a Redis and these limits must share it)"
    }),
    redisCommandTimeout: milliseconds("REDIS_COMMAND_TIMEOUT_MS", {
      min: 10,
      max: 10_000,
      default: "150",
      doc: "A Redis command unanswered this long counts as an outage: the request is decided in memory"
    })
  },
  resilience: {
    retry: {
      enabled: flag("RETRY_ENABLED", {
        default: "true",
        doc: "Retry upstream faults (429, 5xx, 529, timeouts, connection errors); never 4xx request problems"
      }),
      maxAttempts: integer("RETRY_MAX_ATTEMPTS", {
        min: 1,
        max: 20,
        default: "3",
        doc: "Attempts per model in all, the first one included"
      }),
      baseDelay: seconds("RETRY_BASE_DELAY", {
        min: 0,
        max: 3600,
        default: "1.0",
        doc: "Seconds; delay n = min(max, base × exponential_base^n)"
      }),
      maxDelay: seconds("RETRY_MAX_DELAY", {
        min: 0,
        max: 3600,
        default: "60",
        doc: "Seconds; the longest delay, and a longer upstream `Retry-After` is not waited for"
      }),
      exponentialBase: decimal("RETRY_EXPONENTIAL_BASE", {
        min: 1,
        max: 10,
        default: "2.0",
        doc: "Growth of the delay between attempts"
      }),
      jitter: flag("RETRY_JITTER", { default: "true", doc: "Draw each delay uniformly from [delay/2, delay]" })
    },
    breaker: {
      enabled: flag("CIRCUIT_BREAKER_ENABLED", { default: "true", doc: "One breaker per model" }),
      failureThreshold: integer("CIRCUIT_BREAKER_FAILURE_THRESHOLD", {
        min: 1,
        max: 10_000,
        default: "5",
        doc: "Consecutive failed upstream attempts that open a model's breaker"
      }),
      recoveryTimeout: seconds("CIRCUIT_BREAKER_RECOVERY_TIMEOUT", {
        min: 0.001,
        max: 86_400,
        default: "60",
        doc: "Seconds an open breaker refuses calls before it lets probes through"
      }),
      halfOpenProbes: integer("CIRCUIT_BREAKER_HALF_OPEN_PROBES", {
        min: 1,
        max: 1000,
        default: "1",
        doc: "Calls let through at once while half-open"
      })
    },
    attemptTimeout: seconds("UPSTREAM_ATTEMPT_TIMEOUT_SECONDS", {
      min: 0.001,
      max: 3600,
      default: "120",
      doc: "One upstream attempt: a stream until its first chunk, a whole completion (longer if its budget needs it)"
    }),
    requestTimeout: seconds("UPSTREAM_REQUEST_TIMEOUT_SECONDS", {
      min: 0.001,
      max: 3600,
      default: "300",
      doc: "All attempts, retry waits and fallbacks of one request (never shorter than one whole attempt at the model's budget); past it the client gets 504"
    })
  },
  upstreamTimeouts: {
    // Public measurements of the catalog's slowest model (gpt-4) range from 94 to 196 ms per output token, i.e.
    // about 5 to 11 tokens/s; at 5 a completion at any rate seen in practice finishes (docs/timeouts.md).
    minOutputTokensPerSecond: decimal("UPSTREAM_MIN_OUTPUT_TOKENS_PER_SECOND", {
      min: 0.1,
      max: 10_000,
      default: "5",
      doc: "Slowest output accepted: a completion's bounds stretch to first byte + budget ÷ this ([timeouts](timeouts.md))"
    }),
    openai: vendorTimeouts("OPENAI", "OpenAI"),
    anthropic: vendorTimeouts("ANTHROPIC", "Anthropic"),
    gemini: vendorTimeouts("GEMINI", "Gemini")
  },
  streaming: {
    heartbeat: seconds("SSE_HEARTBEAT_SECONDS", {
      min: 0,
      max: 3600,
      default: "15",
      doc: "A `: keep-alive` comment after this long without output, even before the first token; `0`: off"
    }),
    clientWriteTimeout: seconds("CLIENT_WRITE_TIMEOUT_SECONDS", {
      min: 0.1,
      max: 3600,
      default: "30",
      doc: "A stream whose client stopped reading this long is ended: upstream aborted, what was metered charged"
    })
  },
  billing: {
    initialBalance: custom(
      "BILLING_INITIAL_BALANCE",
      usdAmount,
      (raw) => `expected an amount of USD between 0 and 1000000000 with at most 9 decimals, got ${JSON.stringify(raw)}`,
      {
        default: "100.0",
        doc: 'USD a new account starts with (its "Initial balance" transaction); exact, at most 9 decimals'
      }
    ),
    holdTtl: wholeSeconds("BILLING_HOLD_TTL_SECONDS", {
      min: 1,
      max: 7 * 24 * 3600,
      default: "900",
      rule: holdTtlRule,
      doc: "A hold not renewed for this long (live requests renew every third of it) is released; at least `30`"
    }),
    sweepInterval: wholeSeconds("BILLING_SWEEP_INTERVAL_SECONDS", {
      min: 1,
      max: 24 * 3600,
      default: "60",
      doc: "How often expired holds are released (also once at start-up)"
    }),
    idempotencyRetention: wholeMinutes("IDEMPOTENCY_RETENTION_MINUTES", {
      min: 1,
      max: 30 * 24 * 60,
      default: "1440",
      doc: "How long the answer to a request with an `Idempotency-Key` is kept for its repeats (24 h by default)"
    })
  },
  observability: {
    logFormat: choice("LOG_FORMAT", ["json", "pretty"], {
      defaultText: "`json` in production, else `pretty`",
      doc: "One flat JSON object per line (see [observability](observability.md)), or readable lines"
    }),
    balanceSeriesLimit: integer("METRICS_BALANCE_SERIES_LIMIT", {
      min: 0,
      max: 1_000_000,
      default: "10000",
      doc: "Users `user_balance` keeps a series for (the most recently changed); `0`: none"
    }),
    /**
     * Who may read `/metrics` (it names every user's balance). With a token, a scrape must send it as a bearer
     * token; with a port, `/metrics` is served only on that listener (bound to `host`), not on the API's port.
     * Without either (development only), it answers loopback clients only.
     */
    metrics: {
      token: secret("METRICS_TOKEN", {
        schema: Schema.String.check(Schema.isMinLength(minimumMetricsTokenLength), Schema.isPattern(/^[\x21-\x7e]+$/)),
        requirement: `expected at least ${minimumMetricsTokenLength} printable ASCII characters without spaces`,
        doc: `Bearer token \`/metrics\` requires (≥ ${minimumMetricsTokenLength} characters); production needs it or \`METRICS_PORT\``
      }),
      port: integer("METRICS_PORT", {
        min: 0,
        max: 65535,
        doc: "Serve `/metrics` on a listener of its own (404 on `PORT`); bind it to a private network"
      }),
      host: text("METRICS_HOST", {
        defaultText: "`HOST`",
        doc: "Address of the `METRICS_PORT` listener; production without a token must set it"
      })
    },
    tracing: {
      endpoint: otlpEndpoint,
      serviceName: text("OTEL_SERVICE_NAME", { default: "llm-gateway", doc: "`service.name` of the traces" }),
      // OTEL_* variables are shared by every OpenTelemetry SDK of the machine: read only when tracing is on.
      sampleRatio: onlyWith(
        otlpEndpoint,
        decimal("OTEL_TRACES_SAMPLER_ARG", {
          min: 0,
          max: 1,
          default: "1.0",
          doc: "Share of new traces recorded (0..1); a sampled `traceparent` is always followed"
        })
      )
    },
    langfuse: {
      publicKey: text("LANGFUSE_PUBLIC_KEY", {
        doc: "With `LANGFUSE_SECRET_KEY`: every completion is exported to Langfuse (trace and generation)"
      }),
      secretKey: secret("LANGFUSE_SECRET_KEY", { doc: "Secret key of the Langfuse project" }),
      host: url("LANGFUSE_HOST", {
        default: "https://cloud.langfuse.com",
        doc: "Langfuse server (its `/api/public/ingestion`)"
      }),
      logContent: flag("LANGFUSE_LOG_CONTENT", {
        default: "false",
        doc: "Also send prompts and completion text to Langfuse (else sizes, usage, cost, timings)"
      })
    },
    sentryDsn: secret("SENTRY_DSN", {
      schema: Schema.String.check(Schema.isPattern(/^https?:\/\/[^@/]+@[^/]+\/.+$/)),
      requirement: "expected a DSN such as https://<key>@<host>/<project>",
      doc: "Report 5xx answers and defects to Sentry (request id, route, model; never prompts or tokens)"
    })
  },
  processes: {
    webConcurrency: integer("WEB_CONCURRENCY", {
      min: 1,
      max: 64,
      default: "1",
      doc: "Worker processes sharing the port (`node:cluster`); 1 serves from the launching process"
    })
  }
}

/** The section of `.env.example` and of docs/configuration.md each group of settings is listed under. */
export const sectionTitles: Record<keyof typeof declaration, string> = {
  server: "Server",
  auth: "Authentication (JWT)",
  storage: "Storage",
  catalog: "Model catalog",
  providers: "Providers",
  rateLimit: "Rate limits",
  resilience: "Resilience: retries, circuit breakers, request deadlines",
  upstreamTimeouts: "Upstream timeouts",
  streaming: "Streaming",
  billing: "Billing",
  observability: "Observability",
  processes: "Processes"
}

/** Every variable the gateway reads. */
export const environmentVariables: ReadonlyArray<string> = settingsOf(declaration).map(({ name }) => name)
