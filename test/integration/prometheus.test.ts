/**
 * A real Prometheus (Debian's `prometheus`) scrapes the gateway every second and stores the
 * spec's series: what an operator's dashboards will query.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { authHeaders, startGateway, type TestGateway } from "../support/gateway.ts"
import { prometheusAvailable, type PrometheusServer, startPrometheus } from "../support/prometheus.ts"

let gateway: TestGateway
let prometheus: PrometheusServer | undefined

beforeAll(async () => {
  gateway = await startGateway({ RATE_LIMIT_PER_USER_PER_MINUTE: "1" })
  if (prometheusAvailable) prometheus = await startPrometheus(new URL(gateway.url).host)
})
afterAll(async () => {
  await prometheus?.stop()
  await gateway.close()
})

/** Polls a query until it returns something, for at most `timeoutMs`. */
const eventually = async (server: PrometheusServer, promql: string, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const result = await server.query(promql).catch(() => [])
    if (result.length > 0 || Date.now() > deadline) return result
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

describe.skipIf(!prometheusAvailable)("a real Prometheus scraping the gateway", () => {
  it("stores llm_requests_total, llm_requests_duration_seconds, user_balance and rate_limit_requests_total", async () => {
    const server = prometheus!
    const headers = await authHeaders("scraped-user")
    const body = JSON.stringify({ model: "gpt-4", messages: [{ role: "user", content: "Привет!" }] })
    const first = await fetch(`${gateway.url}/v1/chat/completions`, { method: "POST", headers, body })
    expect(first.status).toBe(200)
    const balance = Number(first.headers.get("x-balance-remaining"))
    expect((await fetch(`${gateway.url}/v1/chat/completions`, { method: "POST", headers, body })).status).toBe(429)

    const requests = await eventually(server, 'llm_requests_total{model="gpt-4",status="success"} == 1')
    expect(requests).toHaveLength(1)
    expect(requests[0]!.metric).toMatchObject({ __name__: "llm_requests_total", job: "llm-gateway" })

    const buckets = await eventually(server, 'llm_requests_duration_seconds_bucket{model="gpt-4",le="+Inf"} == 1')
    expect(buckets).toHaveLength(1)

    const balances = await eventually(server, 'user_balance{user_id="scraped-user"}')
    expect(Number(balances[0]?.value[1])).toBeCloseTo(balance, 6)

    const refusals = await eventually(server, 'rate_limit_requests_total{type="user_limit"} == 1')
    expect(refusals).toHaveLength(1)
    expect(await eventually(server, 'rate_limit_requests_total{type="global_limit"}')).toHaveLength(1)

    const up = await server.query('up{job="llm-gateway"}')
    expect(up[0]?.value[1]).toBe("1")
  }, 60_000)
})
