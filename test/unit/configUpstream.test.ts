/**
 * The upstream timeouts, heartbeat and client write bound of the configuration: defaults,
 * per provider values, and invalid values stopping start-up with the variable named.
 */
import { describe, expect, it } from "vitest"
import { ConfigInvalid, type GatewayConfigShape, parseConfig } from "../../src/Config.ts"

const parse = (env: Record<string, string>) => parseConfig(env, "test")

describe("upstream timeouts and heartbeat configuration", () => {
  it("has defaults for every provider and the heartbeat", () => {
    const config = parse({}) as GatewayConfigShape
    expect(config.upstreamTimeouts.anthropic).toEqual({
      connectMs: 10_000,
      firstByteMs: 60_000,
      totalMs: 600_000,
      streamIdleMs: 60_000,
      minOutputTokensPerSecond: 5
    })
    expect(config.streaming).toEqual({ heartbeatMs: 15_000, clientWriteTimeoutMs: 30_000 })
  })

  it("shares the slowest accepted output rate among the providers, and reads the client write bound", () => {
    const config = parse({
      UPSTREAM_MIN_OUTPUT_TOKENS_PER_SECOND: "2.5",
      CLIENT_WRITE_TIMEOUT_SECONDS: "0.5"
    }) as GatewayConfigShape
    for (const vendor of [
      config.upstreamTimeouts.openai,
      config.upstreamTimeouts.anthropic,
      config.upstreamTimeouts.gemini
    ]) {
      expect(vendor.minOutputTokensPerSecond).toBe(2.5)
    }
    expect(config.streaming.clientWriteTimeoutMs).toBe(500)
  })

  it("reads each provider's own values, in seconds with decimals", () => {
    const config = parse({
      GEMINI_CONNECT_TIMEOUT_SECONDS: "2.5",
      GEMINI_STREAM_IDLE_TIMEOUT_SECONDS: "120",
      OPENAI_TOTAL_TIMEOUT_SECONDS: "30",
      SSE_HEARTBEAT_SECONDS: "0"
    }) as GatewayConfigShape
    expect(config.upstreamTimeouts.gemini).toMatchObject({ connectMs: 2_500, streamIdleMs: 120_000 })
    expect(config.upstreamTimeouts.openai.totalMs).toBe(30_000)
    expect(config.upstreamTimeouts.anthropic.totalMs).toBe(600_000)
    expect(config.streaming.heartbeatMs).toBe(0)
  })

  it("refuses invalid values, naming each variable", () => {
    const invalid = parse({
      ANTHROPIC_FIRST_BYTE_TIMEOUT_SECONDS: "soon",
      OPENAI_CONNECT_TIMEOUT_SECONDS: "0",
      SSE_HEARTBEAT_SECONDS: "-1",
      UPSTREAM_MIN_OUTPUT_TOKENS_PER_SECOND: "0",
      CLIENT_WRITE_TIMEOUT_SECONDS: "never"
    })
    expect(invalid).toBeInstanceOf(ConfigInvalid)
    const problems = (invalid as ConfigInvalid).problems.join("\n")
    expect(problems).toContain("ANTHROPIC_FIRST_BYTE_TIMEOUT_SECONDS")
    expect(problems).toContain("OPENAI_CONNECT_TIMEOUT_SECONDS")
    expect(problems).toContain("SSE_HEARTBEAT_SECONDS")
    expect(problems).toContain("UPSTREAM_MIN_OUTPUT_TOKENS_PER_SECOND: expected a number between 0.1 and 10000")
    expect(problems).toContain("CLIENT_WRITE_TIMEOUT_SECONDS: expected a number between 0.1 and 3600")
  })
})
