/**
 * Simulated models bill users catalog prices for made-up text: a production gateway that simulates says so loudly
 * at start-up (a warning naming them), and its answers carry `x-gateway-provider: simulator`.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { authHeaders, startGateway } from "../support/gateway.ts"

let lines: Array<string>
beforeEach(() => {
  lines = []
  vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)))
})
afterEach(() => vi.restoreAllMocks())

describe("simulation in production", () => {
  it("is logged as a warning naming the simulated models", async () => {
    const gateway = await startGateway({
      ENVIRONMENT: "production",
      SIMULATE_PROVIDERS: "true",
      METRICS_TOKEN: "a-metrics-token-for-this-test-only",
      LOG_LEVEL: "info",
      LOG_FORMAT: "json"
    })
    try {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: await authHeaders("simulated-user"),
        body: JSON.stringify({ model: "gpt-4", messages: [{ role: "user", content: "hi" }], max_tokens: 5 })
      })
      expect(response.headers.get("x-gateway-provider")).toBe("simulator")
      await response.text()
    } finally {
      await gateway.close()
    }
    const warnings = lines
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { level: string; message: string })
      .filter((entry) => entry.level === "warn" && entry.message.includes("SIMULATE_PROVIDERS is on in production"))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]!.message).toMatch(/gpt-4.*SIMULATED text, billed at catalog prices/)
  })
})
