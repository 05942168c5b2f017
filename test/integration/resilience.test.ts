/**
 * Breakers, retries and fallbacks through the running gateway: `gpt-4` is served by a
 * scripted OpenAI adapter that fails, `claude-3` (its fallback) by the simulator. Timing
 * rules are covered on TestClock in the unit suites; here retries do not wait.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Layer } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ProviderAdapters } from "../../src/services/registry/ProviderRegistry.ts"
import { authHeaders, startGateway, type TestGateway } from "../support/gateway.ts"
import { json } from "../support/json.ts"
import { badRequest, makeScriptedProvider, overloaded, rateLimited } from "../support/scriptedProvider.ts"

const upstream = makeScriptedProvider()
let gateway: TestGateway

beforeAll(async () => {
  const modelsFile = join(mkdtempSync(join(tmpdir(), "gateway-resilience-")), "models.json")
  const model = (id: string, provider: string, fallbacks: ReadonlyArray<string> = []) => ({
    id,
    provider,
    upstream_model: id,
    input_price_per_1m: 1,
    output_price_per_1m: 2,
    // The defaults of MODELS_FILE before these limits were required.
    max_output_tokens: 4096,
    context_window: 128000,
    fallbacks
  })
  writeFileSync(
    modelsFile,
    JSON.stringify({
      models: [model("gpt-4", "openai", ["claude-3"]), model("gpt-3.5-turbo", "openai"), model("claude-3", "anthropic")]
    })
  )
  gateway = await startGateway(
    { MODELS_FILE: modelsFile, OPENAI_API_KEY: "sk-test", RETRY_BASE_DELAY: "0" },
    { adapters: Layer.succeed(ProviderAdapters, { openai: upstream }) }
  )
})
afterAll(() => gateway.close())

const chat = async (body: Record<string, unknown>) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: await authHeaders(),
    body: JSON.stringify({ messages: [{ role: "user", content: "hello" }], ...body })
  })

describe("resilience through the gateway", () => {
  it("stops calling a failing model after 5 failures, reports it open, and keeps answering through its fallback", async () => {
    upstream.script("gpt-4", overloaded(503))

    for (let request = 0; request < 3; request++) {
      const response = await chat({ model: "gpt-4" })
      expect(response.status).toBe(200)
      expect(response.headers.get("x-gateway-fallback-from")).toBe("gpt-4")
      expect(response.headers.get("x-gateway-model")).toBe("claude-3")
      expect(response.headers.get("x-gateway-provider")).toBe("simulator")
      expect((await json(response)).model).toBe("claude-3")
    }
    // Three attempts for the first request, two for the second (the fifth failure opened the breaker), none after.
    expect(upstream.calls("gpt-4")).toBe(5)

    const breakers = await json(await fetch(`${gateway.url}/health/circuit-breakers`))
    expect(breakers.circuit_breakers["gpt-4"]).toMatchObject({
      state: "open",
      failure_count: 5,
      failure_threshold: 5,
      recovery_timeout: 60
    })
    expect(Date.parse(breakers.circuit_breakers["gpt-4"].last_failure_time)).toBeGreaterThan(Date.now() - 60_000)
    expect(breakers.circuit_breakers["claude-3"]).toEqual({
      state: "closed",
      failure_count: 0,
      last_failure_time: null,
      failure_threshold: 5,
      recovery_timeout: 60
    })
    expect(breakers.retry_config).toEqual({
      enabled: true,
      max_attempts: 3,
      base_delay: 0,
      max_delay: 60,
      exponential_base: 2,
      jitter: true
    })
    expect(breakers.circuit_breaker_config).toEqual({ enabled: true, failure_threshold: 5, recovery_timeout: 60 })

    const health = await json(await fetch(`${gateway.url}/health`))
    expect(health).toMatchObject({ retry_enabled: true, circuit_breaker_enabled: true })
    expect(health.components.llm_services).toBe("degraded")

    // Streams too come from the fallback while the breaker is open.
    const streamed = await chat({ model: "gpt-4", stream: true })
    expect(streamed.status).toBe(200)
    expect(streamed.headers.get("x-gateway-fallback-from")).toBe("gpt-4")
    const events = (await streamed.text()).split("\n\n").filter((event) => event.startsWith("data: {"))
    expect(events.length).toBeGreaterThan(2)
    for (const event of events) expect(JSON.parse(event.slice("data: ".length)).model).toBe("claude-3")
    expect(upstream.calls("gpt-4")).toBe(5)
  })

  it("answers 503 with the upstream's Retry-After when a model without fallback is rate limited", async () => {
    upstream.script("gpt-3.5-turbo", rateLimited(120))
    const response = await chat({ model: "gpt-3.5-turbo" })
    expect(response.status).toBe(503)
    expect(response.headers.get("retry-after")).toBe("120")
    expect(response.headers.get("x-gateway-fallback-from")).toBeNull()
    expect(await json(response)).toMatchObject({
      detail: "LLM service temporarily unavailable",
      code: 503,
      error_type: "service_error"
    })
    // Waiting two minutes is the client's business: the gateway gave up at once.
    expect(upstream.calls("gpt-3.5-turbo")).toBe(1)
  })

  it("passes an upstream 400 on as a 400, without retrying or counting it", async () => {
    const failuresOf = async () =>
      (await json(await fetch(`${gateway.url}/health/circuit-breakers`))).circuit_breakers["gpt-3.5-turbo"]
        .failure_count
    upstream.script("gpt-3.5-turbo", badRequest)
    const [calls, failures] = [upstream.calls("gpt-3.5-turbo"), await failuresOf()]
    const response = await chat({ model: "gpt-3.5-turbo" })
    expect(response.status).toBe(400)
    expect((await json(response)).error).toMatchObject({ type: "validation_error", param: "messages" })
    expect(upstream.calls("gpt-3.5-turbo")).toBe(calls + 1)
    expect(await failuresOf()).toBe(failures)
  })
})
