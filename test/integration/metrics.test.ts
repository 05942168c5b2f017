/**
 * /metrics through the running gateway: the spec's series with the spec's names and labels,
 * the extra series, bounded label values, `promtool check metrics`, and the timing headers.
 * `gpt-4` is served by a scripted adapter that can be told to fail; the others by the simulator.
 */
import { Layer } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ProviderAdapters } from "../../src/services/registry/ProviderRegistry.ts"
import { authHeaders, startGateway, type TestGateway } from "../support/gateway.ts"
import { json } from "../support/json.ts"
import { labelValues, promtoolAvailable, promtoolProblems, sample } from "../support/prometheus.ts"
import { answer, makeScriptedProvider, overloaded } from "../support/scriptedProvider.ts"

const upstream = makeScriptedProvider()
let gateway: TestGateway

beforeAll(async () => {
  const modelsFile = join(mkdtempSync(join(tmpdir(), "gateway-metrics-")), "models.json")
  const model = (id: string, provider: string, fallbacks: ReadonlyArray<string> = []) => ({
    id,
    provider,
    upstream_model: `${id}-upstream`,
    input_price_per_1m: 1,
    output_price_per_1m: 2,
    // The defaults of MODELS_FILE before these limits were required.
    max_output_tokens: 4096,
    context_window: 128000,
    fallbacks
  })
  writeFileSync(
    modelsFile,
    JSON.stringify({ models: [model("gpt-4", "openai", ["claude-3"]), model("claude-3", "anthropic")] })
  )
  gateway = await startGateway(
    {
      MODELS_FILE: modelsFile,
      OPENAI_API_KEY: "sk-test",
      RETRY_BASE_DELAY: "0",
      RETRY_MAX_ATTEMPTS: "2",
      CIRCUIT_BREAKER_FAILURE_THRESHOLD: "2",
      RATE_LIMIT_PER_USER_PER_MINUTE: "3"
    },
    { adapters: Layer.succeed(ProviderAdapters, { openai: upstream }) }
  )
})
afterAll(() => gateway.close())

const chat = async (user: string, body: Record<string, unknown>) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: await authHeaders(user),
    body: JSON.stringify({ messages: [{ role: "user", content: "hello" }], ...body })
  })

const scrape = async () => {
  const response = await fetch(`${gateway.url}/metrics`)
  expect(response.status).toBe(200)
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/)
  return response.text()
}

describe("/metrics", () => {
  it("counts requests, durations, tokens, cost, balances, refusals and HTTP traffic in the spec's series", async () => {
    const plain = await chat("alice", { model: "claude-3" })
    expect(plain.status).toBe(200)
    const { usage } = await json(plain)
    const streamed = await chat("alice", { model: "claude-3", stream: true })
    await streamed.text()
    expect(await (await chat("alice", { model: "claude-3" })).text()).toContain("chat.completion")
    const balance = await json(await fetch(`${gateway.url}/billing/balance`, { headers: await authHeaders("alice") }))
    // alice's fourth chat request in a minute is refused by her limit of 3 (reads have their own).
    expect((await chat("alice", { model: "claude-3" })).status).toBe(429)
    expect((await fetch(`${gateway.url}/v1/models/claude-3`, { headers: await authHeaders("bob") })).status).toBe(200)
    expect((await fetch(`${gateway.url}/no/such/path/req_0123456789`)).status).toBe(404)

    const text = await scrape()
    expect(sample(text, "llm_requests_total", { model: "claude-3", status: "success" })).toBe(3)
    expect(sample(text, "llm_requests_total", { model: "gpt-4", status: "error" })).toBe(0)
    expect(sample(text, "llm_requests_duration_seconds_count", { model: "claude-3" })).toBe(3)
    expect(sample(text, "llm_requests_duration_seconds_bucket", { model: "claude-3", le: "+Inf" })).toBe(3)
    expect(text).toContain("# TYPE llm_requests_duration_seconds histogram")
    expect(sample(text, "user_balance", { user_id: "alice" })).toBeCloseTo(balance.balance, 9)
    expect(sample(text, "rate_limit_requests_total", { type: "user_limit" })).toBe(1)
    expect(sample(text, "rate_limit_requests_total", { type: "global_limit" })).toBe(0)
    expect(sample(text, "llm_tokens_total", { model: "claude-3", type: "prompt" })).toBeGreaterThanOrEqual(
      usage.prompt_tokens
    )
    expect(sample(text, "llm_cost_usd_total", { model: "claude-3" })).toBeGreaterThan(0)
    expect(sample(text, "llm_upstream_latency_seconds_count", { provider: "simulator", model: "claude-3" })).toBe(3)
    expect(sample(text, "llm_time_to_first_token_seconds_count", { provider: "simulator", model: "claude-3" })).toBe(1)
    expect(sample(text, "gateway_overhead_seconds_count")).toBe(3)
    expect(sample(text, "llm_streams_open")).toBe(0)
    // This scrape itself is in flight.
    expect(sample(text, "http_requests_in_flight")).toBe(1)
    expect(sample(text, "http_requests_total", { route: "/v1/chat/completions", method: "POST", status: "429" })).toBe(
      1
    )
    expect(sample(text, "http_requests_total", { route: "/v1/models/:id", method: "GET", status: "200" })).toBe(1)
    expect(sample(text, "http_requests_total", { route: "unmatched", method: "GET", status: "404" })).toBe(1)
    expect(sample(text, "rate_limit_storage", { storage: "memory" })).toBe(1)
    expect(sample(text, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0)
    expect(sample(text, "process_cpu_seconds_total")).toBeGreaterThan(0)
    // Bounded labels: route templates, never raw paths or request ids.
    expect(labelValues(text, "http_requests_total", "route")).not.toContain("/v1/models/claude-3")
    expect(text).not.toMatch(/req_[0-9a-f]{8}/)
  })

  it("counts retries, breaker transitions and the breaker state of a failing model", async () => {
    upstream.script("gpt-4", overloaded(503))
    // Two failed attempts open the breaker (threshold 2); the fallback answers.
    const response = await chat("carol", { model: "gpt-4" })
    expect(response.status).toBe(200)
    expect(response.headers.get("x-gateway-fallback-from")).toBe("gpt-4")
    upstream.script("gpt-4", answer)

    const text = await scrape()
    expect(sample(text, "llm_retries_total", { model: "gpt-4", reason: "Overloaded" })).toBe(1)
    expect(sample(text, "circuit_breaker_transitions_total", { model: "gpt-4", from: "closed", to: "open" })).toBe(1)
    expect(sample(text, "circuit_breaker_state", { model: "gpt-4" })).toBe(2)
    expect(sample(text, "circuit_breaker_state", { model: "claude-3" })).toBe(0)
    // The request counts for the model asked for; its tokens for the model that answered.
    expect(sample(text, "llm_requests_total", { model: "gpt-4", status: "success" })).toBe(1)
    expect(sample(text, "llm_upstream_latency_seconds_count", { provider: "openai", model: "gpt-4" })).toBe(0)
  })

  it.skipIf(!promtoolAvailable)("passes promtool check metrics", async () => {
    const text = await scrape()
    expect(text.length).toBeGreaterThan(1000)
    expect(promtoolProblems(text)).toBe("")
  })

  it("reports the gateway's overhead and the upstream latency on completions and streams", async () => {
    const plain = await chat("dave", { model: "claude-3" })
    const overhead = Number(plain.headers.get("x-gateway-overhead-ms"))
    const upstreamMs = Number(plain.headers.get("x-upstream-latency-ms"))
    expect(overhead).toBeGreaterThanOrEqual(0)
    expect(upstreamMs).toBeGreaterThan(0)
    await plain.text()
    const streamed = await chat("dave", { model: "claude-3", stream: true })
    expect(Number(streamed.headers.get("x-gateway-overhead-ms"))).toBeGreaterThanOrEqual(0)
    expect(Number(streamed.headers.get("x-upstream-latency-ms"))).toBeGreaterThan(0)
    await streamed.text()
  })
})
