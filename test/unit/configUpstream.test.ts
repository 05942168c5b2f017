/**
 * The upstream timeouts, heartbeat and client write bound of the configuration: defaults,
 * per provider values, and invalid values stopping start-up with the variable named.
 */
import * as Duration from "effect/Duration"
import { describe, expect, it } from "vitest"
import { ConfigInvalid, type GatewayConfigShape } from "../../src/Config.ts"
import { configOf } from "../support/config.ts"

const parse = (env: Record<string, string>) => configOf(env, "test")

describe("upstream timeouts and heartbeat configuration", () => {
  it("has defaults for every provider and the heartbeat", () => {
    const config = parse({}) as GatewayConfigShape
    expect(config.upstreamTimeouts.anthropic).toEqual({
      connect: Duration.seconds(10),
      firstByte: Duration.seconds(60),
      total: Duration.seconds(600),
      streamIdle: Duration.seconds(60),
      minOutputTokensPerSecond: 5
    })
    expect(config.streaming).toEqual({ heartbeat: Duration.seconds(15), clientWriteTimeout: Duration.seconds(30) })
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
    expect(config.streaming.clientWriteTimeout).toEqual(Duration.millis(500))
  })

  it("reads each provider's own values, in seconds with decimals", () => {
    const config = parse({
      GEMINI_CONNECT_TIMEOUT_SECONDS: "2.5",
      GEMINI_STREAM_IDLE_TIMEOUT_SECONDS: "120",
      OPENAI_TOTAL_TIMEOUT_SECONDS: "30",
      SSE_HEARTBEAT_SECONDS: "0"
    }) as GatewayConfigShape
    expect(config.upstreamTimeouts.gemini).toMatchObject({
      connect: Duration.millis(2_500),
      streamIdle: Duration.seconds(120)
    })
    expect(config.upstreamTimeouts.openai.total).toEqual(Duration.seconds(30))
    expect(config.upstreamTimeouts.anthropic.total).toEqual(Duration.seconds(600))
    expect(config.streaming.heartbeat).toEqual(Duration.zero)
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
