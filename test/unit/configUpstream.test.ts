/**
 * The upstream timeouts and heartbeat section of the configuration: defaults, per
 * provider values, and invalid values stopping start-up with the variable named.
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
      streamIdleMs: 60_000
    })
    expect(config.streaming.heartbeatMs).toBe(15_000)
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
      SSE_HEARTBEAT_SECONDS: "-1"
    })
    expect(invalid).toBeInstanceOf(ConfigInvalid)
    const problems = (invalid as ConfigInvalid).problems.join("\n")
    expect(problems).toContain("ANTHROPIC_FIRST_BYTE_TIMEOUT_SECONDS")
    expect(problems).toContain("OPENAI_CONNECT_TIMEOUT_SECONDS")
    expect(problems).toContain("SSE_HEARTBEAT_SECONDS")
  })
})
