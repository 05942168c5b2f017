import * as Duration from "effect/Duration"
import { describe, expect, it } from "vitest"
import { ConfigInvalid } from "../../src/Config.ts"
import { configOf } from "../support/config.ts"

const parse = (env: Record<string, string>) => configOf(env, "1.2.3")

describe("configuration", () => {
  it("runs a bare development machine on defaults", () => {
    const config = parse({})
    if (config instanceof ConfigInvalid) throw config
    expect(config.server).toMatchObject({ port: 8000, host: "0.0.0.0", environment: "development", version: "1.2.3" })
    // No constant secret: the layer generates one in DATA_DIR (test/integration/development-secret.test.ts).
    expect(config.auth.secret).toBeUndefined()
    expect(config.auth.algorithms).toEqual(["HS256"])
    expect(config.providers.simulate).toBe(true)
    expect(config.providers.openai.baseUrl).toBe("https://api.openai.com/v1")
    expect(config.storage.databaseUrl).toBeUndefined()
    expect(config.catalog.listFormat).toBe("spec")
  })

  it("lists every problem at once", () => {
    const result = parse({
      PORT: "eighty",
      ENVIRONMENT: "staging",
      SIMULATE_PROVIDERS: "maybe",
      OPENAI_BASE_URL: "not a url",
      MODELS_LIST_FORMAT: "xml"
    })
    expect(result).toBeInstanceOf(ConfigInvalid)
    const problems = (result as ConfigInvalid).problems
    expect(problems).toHaveLength(5)
    for (const name of ["PORT", "ENVIRONMENT", "SIMULATE_PROVIDERS", "OPENAI_BASE_URL", "MODELS_LIST_FORMAT"]) {
      expect(problems.some((problem) => problem.startsWith(`${name}:`))).toBe(true)
    }
    expect((result as ConfigInvalid).message).toMatch(
      /^Invalid configuration:\n {2}- ENVIRONMENT: expected one of development, production/
    )
  })

  it("refuses production without a strong JWT secret", () => {
    const production = { ENVIRONMENT: "production", METRICS_PORT: "9100", METRICS_HOST: "10.0.0.5" }
    const missing = parse(production) as ConfigInvalid
    expect(missing.problems).toEqual(["JWT_SECRET: required for HS* algorithms in production"])
    const weak = parse({ ...production, JWT_SECRET: "short" }) as ConfigInvalid
    expect(weak.problems).toEqual(["JWT_SECRET: must be at least 32 bytes in production"])
    const strong = parse({ ...production, JWT_SECRET: "s".repeat(32) })
    expect(strong).not.toBeInstanceOf(ConfigInvalid)
    expect((strong as Exclude<typeof strong, ConfigInvalid>).providers.simulate).toBe(false)
  })

  it("keys the provider-facing user hash: with public-key tokens, production needs PROVIDER_USER_ID_KEY", () => {
    const production = {
      ENVIRONMENT: "production",
      METRICS_PORT: "9100",
      METRICS_HOST: "10.0.0.5",
      JWT_ALGORITHMS: "RS256",
      JWT_JWKS_URL: "https://idp.example/jwks"
    }
    expect((parse(production) as ConfigInvalid).problems).toEqual([
      expect.stringMatching(/^PROVIDER_USER_ID_KEY: required in production for PROVIDER_USER_ID=hashed/)
    ])
    expect(parse({ ...production, PROVIDER_USER_ID_KEY: "k".repeat(32) })).not.toBeInstanceOf(ConfigInvalid)
    expect(parse({ ...production, PROVIDER_USER_ID: "none" })).not.toBeInstanceOf(ConfigInvalid)
    expect((parse({ PROVIDER_USER_ID_KEY: "short" }) as ConfigInvalid).problems).toEqual([
      "PROVIDER_USER_ID_KEY: must be at least 32 bytes"
    ])
    expect((parse({ PROVIDER_USER_ID: "body" }) as ConfigInvalid).problems[0]).toMatch(
      /^PROVIDER_USER_ID: expected one of/
    )
  })

  it("never allows none, unknown algorithms, or HMAC mixed with public-key algorithms", () => {
    expect((parse({ JWT_ALGORITHMS: "none" }) as ConfigInvalid).problems[0]).toMatch(/unsupported none/)
    expect((parse({ JWT_ALGORITHMS: "HS256,RS256", JWT_PUBLIC_KEY: "x" }) as ConfigInvalid).problems[0]).toMatch(
      /key confusion/
    )
    expect((parse({ JWT_ALGORITHMS: "RS256" }) as ConfigInvalid).problems[0]).toMatch(/JWT_PUBLIC_KEY or JWT_JWKS_URL/)
  })

  it("reads retry, breaker and deadline settings in seconds, as the spec shows them", () => {
    const defaults = parse({})
    if (defaults instanceof ConfigInvalid) throw defaults
    expect(defaults.resilience).toEqual({
      retry: {
        enabled: true,
        maxAttempts: 3,
        baseDelay: Duration.seconds(1),
        maxDelay: Duration.seconds(60),
        exponentialBase: 2,
        jitter: true
      },
      breaker: { enabled: true, failureThreshold: 5, recoveryTimeout: Duration.seconds(60), halfOpenProbes: 1 },
      attemptTimeout: Duration.seconds(120),
      requestTimeout: Duration.seconds(300)
    })
    const tuned = parse({ RETRY_BASE_DELAY: "0.25", CIRCUIT_BREAKER_RECOVERY_TIMEOUT: "1.5", RETRY_JITTER: "off" })
    if (tuned instanceof ConfigInvalid) throw tuned
    expect(tuned.resilience.retry).toMatchObject({ baseDelay: Duration.millis(250), jitter: false })
    expect(tuned.resilience.breaker.recoveryTimeout).toEqual(Duration.millis(1500))

    const bad = parse({
      RETRY_MAX_ATTEMPTS: "0",
      RETRY_BASE_DELAY: "90",
      CIRCUIT_BREAKER_FAILURE_THRESHOLD: "five",
      UPSTREAM_REQUEST_TIMEOUT_SECONDS: "0"
    }) as ConfigInvalid
    expect(bad.problems).toHaveLength(4)
    expect(bad.problems).toContain("RETRY_BASE_DELAY: must not exceed RETRY_MAX_DELAY")
  })

  it("ignores empty values as unset", () => {
    const config = parse({ PORT: "", REDIS_URL: "  " })
    expect(config).not.toBeInstanceOf(ConfigInvalid)
  })
})
