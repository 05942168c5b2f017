import { Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { ConfigInvalid, type GatewayConfigShape } from "../../src/Config.ts"
import { configOf } from "../support/config.ts"

const parse = (env: Record<string, string>) => configOf(env, "1.2.3")
const valid = (env: Record<string, string>): GatewayConfigShape => {
  const config = parse(env)
  if (config instanceof ConfigInvalid) throw config
  return config
}

describe("observability configuration", () => {
  it("turns every exporter off by default, with pretty logs in development and JSON in production", () => {
    const config = valid({})
    expect(config.observability).toEqual({
      logFormat: "pretty",
      balanceSeriesLimit: 10_000,
      metrics: { token: undefined, port: undefined, host: "0.0.0.0" },
      tracing: undefined,
      langfuse: undefined,
      sentryDsn: undefined
    })
    expect(
      valid({ ENVIRONMENT: "production", JWT_SECRET: "s".repeat(32), METRICS_PORT: "9100", METRICS_HOST: "10.0.0.5" })
        .observability.logFormat
    ).toBe("json")
    expect(valid({ LOG_FORMAT: "json" }).observability.logFormat).toBe("json")
  })

  it("reads tracing, Langfuse and Sentry settings", () => {
    const { observability } = valid({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/",
      OTEL_TRACES_SAMPLER_ARG: "0.25",
      LANGFUSE_PUBLIC_KEY: "pk-lf",
      LANGFUSE_SECRET_KEY: "sk-lf",
      LANGFUSE_LOG_CONTENT: "true",
      SENTRY_DSN: "https://key@o1.ingest.sentry.io/42"
    })
    expect(observability.tracing).toEqual({
      endpoint: "http://collector:4318",
      serviceName: "llm-gateway",
      sampleRatio: 0.25
    })
    expect(observability.langfuse).toMatchObject({
      host: "https://cloud.langfuse.com",
      publicKey: "pk-lf",
      logContent: true
    })
    expect(Redacted.value(observability.langfuse!.secretKey)).toBe("sk-lf")
    expect(Redacted.value(observability.sentryDsn!)).toBe("https://key@o1.ingest.sentry.io/42")
  })

  it("refuses half a Langfuse key pair, a DSN without key or project, and a sample ratio above 1", () => {
    const result = parse({
      LANGFUSE_PUBLIC_KEY: "pk-lf",
      SENTRY_DSN: "https://o1.ingest.sentry.io",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_TRACES_SAMPLER_ARG: "2",
      LOG_FORMAT: "xml"
    }) as ConfigInvalid
    expect(result).toBeInstanceOf(ConfigInvalid)
    expect(result.problems.map((problem) => problem.split(":")[0])).toEqual([
      // Bad values in the order declared, then the rules across settings.
      "LOG_FORMAT",
      "OTEL_TRACES_SAMPLER_ARG",
      "SENTRY_DSN",
      "LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY"
    ])
  })
})
