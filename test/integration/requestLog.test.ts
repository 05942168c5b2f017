/**
 * One structured JSON line per request, as LOG_FORMAT=json writes it to stdout: request id,
 * user, model, status, duration, overhead, tokens and cost; its level obeys LOG_LEVEL.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { authHeaders, startGateway } from "../support/gateway.ts"

let lines: Array<string>
beforeEach(() => {
  lines = []
  vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)))
})
afterEach(() => vi.restoreAllMocks())

const requestLines = () =>
  lines
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry["message"] === "request")

describe("the request log", () => {
  it("writes one JSON line per request with what it did", async () => {
    const gateway = await startGateway({ LOG_LEVEL: "info", LOG_FORMAT: "json" })
    let cost: string | null = null
    try {
      const headers = { ...(await authHeaders("logged-user")), "x-request-id": "log-test-1" }
      const body = JSON.stringify({ model: "gpt-4", messages: [{ role: "user", content: "hi" }] })
      const plain = await fetch(`${gateway.url}/v1/chat/completions`, { method: "POST", headers, body })
      expect(plain.status).toBe(200)
      cost = plain.headers.get("x-request-cost")
      await plain.text()
      const streamed = await fetch(`${gateway.url}/v1/chat/completions/stream`, {
        method: "POST",
        headers: { ...headers, "x-request-id": "log-test-2" },
        body
      })
      await streamed.text()
      await (await fetch(`${gateway.url}/nowhere`, { headers: { "x-request-id": "log-test-3" } })).text()
      await (await fetch(`${gateway.url}/live`, { headers: { "x-request-id": "log-test-4" } })).text()
    } finally {
      await gateway.close()
    }
    const entries = requestLines()
    // Lines name the gateway's own id and, beside it, the client's.
    const byId = (id: string) => entries.filter((entry) => entry["client_request_id"] === id)
    for (const entry of entries) expect(entry["request_id"]).toMatch(/^req_[0-9a-f]{32}$/)
    expect(byId("log-test-1")).toHaveLength(1)
    expect(byId("log-test-1")[0]).toMatchObject({
      level: "info",
      method: "POST",
      route: "/v1/chat/completions",
      status: 200,
      user_id: "logged-user",
      model: "gpt-4",
      provider: "simulator",
      stream: false,
      outcome: "success",
      prompt_tokens: expect.any(Number),
      completion_tokens: expect.any(Number),
      usage_source: "provider",
      duration_ms: expect.any(Number),
      overhead_ms: expect.any(Number),
      upstream_ms: expect.any(Number)
    })
    expect(byId("log-test-1")[0]!["cost_usd"]).toBe(cost)
    const streamed = byId("log-test-2")
    expect(streamed).toHaveLength(1)
    expect(streamed[0]).toMatchObject({ route: "/v1/chat/completions/stream", stream: true, outcome: "success" })
    expect(streamed[0]!["ttft_ms"]).toEqual(expect.any(Number))
    expect(streamed[0]!["completion_tokens"]).toBeGreaterThan(0)
    expect(byId("log-test-3")[0]).toMatchObject({ route: "unmatched", status: 404, error_type: "not_found_error" })
    // Probes log at debug: not at LOG_LEVEL=info.
    expect(byId("log-test-4")).toHaveLength(0)
  })

  it("logs and measures an embeddings request as it does a chat completion", async () => {
    const gateway = await startGateway({ LOG_LEVEL: "info", LOG_FORMAT: "json" })
    let cost: string | null = null
    let metrics = ""
    try {
      const response = await fetch(`${gateway.url}/v1/embeddings`, {
        method: "POST",
        headers: { ...(await authHeaders("embedding-user")), "x-request-id": "log-embed-1" },
        body: JSON.stringify({ model: "text-embedding-3-small", input: ["one text", "another text"] })
      })
      expect(response.status).toBe(200)
      cost = response.headers.get("x-request-cost")
      await response.text()
      metrics = await (await fetch(`${gateway.url}/metrics`)).text()
    } finally {
      await gateway.close()
    }
    const [entry] = requestLines().filter((line) => line["client_request_id"] === "log-embed-1")
    expect(entry).toMatchObject({
      route: "/v1/embeddings",
      status: 200,
      user_id: "embedding-user",
      model: "text-embedding-3-small",
      provider: "simulator",
      outcome: "success",
      prompt_tokens: expect.any(Number),
      completion_tokens: 0,
      usage_source: "provider",
      cost_usd: cost
    })
    expect(metrics).toContain('llm_requests_total{model="text-embedding-3-small",status="success"} 1')
    expect(metrics).toContain(
      `llm_tokens_total{model="text-embedding-3-small",type="prompt"} ${entry!["prompt_tokens"]}`
    )
  })

  it("writes no request lines when LOG_LEVEL is above info", async () => {
    const gateway = await startGateway({ LOG_LEVEL: "warn", LOG_FORMAT: "json" })
    try {
      await (await fetch(`${gateway.url}/health`)).text()
    } finally {
      await gateway.close()
    }
    expect(requestLines()).toHaveLength(0)
  })
})
