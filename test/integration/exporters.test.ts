/**
 * What the three exporters deliver, asserted at local receivers: an OTLP/HTTP collector
 * (traces), Langfuse's ingestion API and a Sentry DSN's envelope endpoint. The gateway is
 * closed before the assertions, which flushes every exporter.
 */
import { Layer } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ProviderAdapters } from "../../src/services/registry/ProviderRegistry.ts"
import { authHeaders, startGateway, type TestGateway } from "../support/gateway.ts"
import { json } from "../support/json.ts"
import { sample } from "../support/prometheus.ts"
import { until } from "../support/ports.ts"
import { type Receiver, startReceiver } from "../support/receiver.ts"
import { makeScriptedProvider, overloaded } from "../support/scriptedProvider.ts"

const secretPrompt = "Секретный запрос 4f1d"
const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
const parentSpanId = "00f067aa0ba902b7"

const modelsFile = () => {
  const file = join(mkdtempSync(join(tmpdir(), "gateway-exporters-")), "models.json")
  const model = (id: string, provider: string) => ({
    id,
    provider,
    upstream_model: `${id}-upstream`,
    input_price_per_1m: 1,
    output_price_per_1m: 2,
    // The defaults of MODELS_FILE before these limits were required.
    max_output_tokens: 4096,
    context_window: 128000
  })
  writeFileSync(file, JSON.stringify({ models: [model("gpt-4", "openai"), model("claude-3", "anthropic")] }))
  return file
}

const upstream = makeScriptedProvider()

const start = (env: Record<string, string>) =>
  startGateway(
    { MODELS_FILE: modelsFile(), OPENAI_API_KEY: "sk-test", RETRY_MAX_ATTEMPTS: "1", ...env },
    { adapters: Layer.succeed(ProviderAdapters, { openai: upstream }) }
  )

const chat = async (gateway: TestGateway, user: string, body: Record<string, unknown>, extra = {}) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { ...(await authHeaders(user)), ...extra },
    body: JSON.stringify({ messages: [{ role: "user", content: secretPrompt }], ...body })
  })

interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly kind: number
  readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: Record<string, unknown> }>
}

const spansOf = (receiver: Receiver) =>
  receiver.received
    .filter((request) => request.path === "/v1/traces")
    .flatMap((request) => {
      const body = JSON.parse(request.body.toString())
      return body.resourceSpans.flatMap((resource: { scopeSpans: Array<{ spans: Array<OtlpSpan> }> }) =>
        resource.scopeSpans.flatMap((scope) => scope.spans)
      ) as Array<OtlpSpan>
    })

const attribute = (span: OtlpSpan, key: string): unknown => {
  const value = span.attributes.find((entry) => entry.key === key)?.value
  return value === undefined ? undefined : Object.values(value)[0]
}

interface IngestionEvent {
  readonly type: string
  readonly body: Record<string, unknown>
}

const langfuseEvents = (receiver: Receiver): Array<IngestionEvent> =>
  receiver.received
    .filter((request) => request.path === "/api/public/ingestion")
    .flatMap((request) => JSON.parse(request.body.toString()).batch)

describe("exporters deliver to local receivers", () => {
  let otlp: Receiver
  let langfuse: Receiver
  let sentry: Receiver
  let token: string

  beforeAll(async () => {
    ;[otlp, langfuse, sentry] = await Promise.all([startReceiver(), startReceiver(207), startReceiver()])
    const gateway = await start({
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      LANGFUSE_PUBLIC_KEY: "pk-lf-test",
      LANGFUSE_SECRET_KEY: "sk-lf-test",
      LANGFUSE_HOST: langfuse.url,
      SENTRY_DSN: `http://abc123@${new URL(sentry.url).host}/42`
    })
    token = (await authHeaders("exporter-user")).authorization!
    const plain = await chat(
      gateway,
      "exporter-user",
      { model: "claude-3" },
      {
        traceparent: `00-${traceId}-${parentSpanId}-01`
      }
    )
    expect(plain.status).toBe(200)
    await (await chat(gateway, "exporter-user", { model: "claude-3", stream: true })).text()
    upstream.script("gpt-4", overloaded(503))
    expect((await chat(gateway, "exporter-user", { model: "gpt-4" })).status).toBe(503)
    await gateway.close()
  })
  afterAll(async () => {
    await Promise.all([otlp?.close(), langfuse?.close(), sentry?.close()])
  })

  it("OpenTelemetry: the request span continues the client's traceparent, with auth, rate limit, billing, SQL and GenAI spans inside", () => {
    const spans = spansOf(otlp).filter((span) => span.traceId === traceId)
    const server = spans.find((span) => span.name === "POST /v1/chat/completions")
    expect(server).toBeDefined()
    expect(server!.parentSpanId).toBe(parentSpanId)
    expect(server!.kind).toBe(2)
    const names = spans.map((span) => span.name)
    expect(names).toEqual(
      expect.arrayContaining([
        "Auth.verify",
        "RateLimiter.consume",
        "Billing.reserve",
        "Billing.settle",
        "ChatCompletions.complete",
        "Resilience.complete"
      ])
    )
    expect(spans.some((span) => attribute(span, "db.system.name") === "postgresql" && span.kind === 3)).toBe(true)
    const upstreamSpan = spans.find((span) => span.name === "chat claude-3-upstream")
    expect(upstreamSpan).toBeDefined()
    expect(upstreamSpan!.kind).toBe(3)
    expect(attribute(upstreamSpan!, "gen_ai.operation.name")).toBe("chat")
    expect(attribute(upstreamSpan!, "gen_ai.system")).toBe("simulator")
    expect(attribute(upstreamSpan!, "gen_ai.request.model")).toBe("claude-3-upstream")
    expect(Number(attribute(upstreamSpan!, "gen_ai.usage.input_tokens"))).toBeGreaterThan(0)
    expect(Number(attribute(upstreamSpan!, "gen_ai.usage.output_tokens"))).toBeGreaterThan(0)
    // The stream's attempt span learns its usage from the usage chunk at the end.
    const streamSpans = spansOf(otlp).filter(
      (span) => span.name === "chat claude-3-upstream" && span.traceId !== traceId
    )
    expect(streamSpans.some((span) => Number(attribute(span, "gen_ai.usage.output_tokens")) > 0)).toBe(true)
    expect(JSON.stringify(spansOf(otlp))).not.toContain(secretPrompt)
  })

  it("Langfuse: each completion is a trace and a generation with model, usage, cost, latency and user, no content by default", () => {
    const request = langfuse.received.find((r) => r.path === "/api/public/ingestion")
    expect(request?.headers.authorization).toBe(`Basic ${Buffer.from("pk-lf-test:sk-lf-test").toString("base64")}`)
    const events = langfuseEvents(langfuse)
    const traces = events.filter((event) => event.type === "trace-create")
    const generations = events.filter((event) => event.type === "generation-create")
    expect(traces).toHaveLength(3)
    expect(generations).toHaveLength(3)
    expect(traces.every((trace) => trace.body["userId"] === "exporter-user")).toBe(true)
    const answered = generations.find((g) => g.body["model"] === "claude-3-upstream" && g.body["level"] === "DEFAULT")!
    expect(answered.body).toMatchObject({
      name: "chat",
      usageDetails: { input: expect.any(Number), output: expect.any(Number), total: expect.any(Number) },
      costDetails: { total: expect.any(Number) }
    })
    expect(Date.parse(answered.body["endTime"] as string)).toBeGreaterThanOrEqual(
      Date.parse(answered.body["startTime"] as string)
    )
    expect(generations.some((g) => typeof g.body["completionStartTime"] === "string")).toBe(true)
    const failed = generations.find((g) => g.body["model"] === "gpt-4-upstream")!
    expect(failed.body["level"]).toBe("ERROR")
    for (const event of events) expect(event.body["input"]).toBeUndefined()
    expect(JSON.stringify(events)).not.toContain(secretPrompt)
  })

  it("Sentry: a 5xx is reported with request id, route and model, never the prompt or the token", () => {
    const envelopes = sentry.received.filter((r) => r.path.startsWith("/api/42/envelope/"))
    expect(envelopes.length).toBeGreaterThanOrEqual(1)
    const text = envelopes.map((r) => r.body.toString()).join("\n")
    const event = text
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line))
      .find((item) => item.tags !== undefined)
    expect(event.tags).toMatchObject({ route: "/v1/chat/completions", model: "gpt-4", status: 503 })
    expect(event.tags.request_id).toMatch(/^req_/)
    expect(text).not.toContain(secretPrompt)
    expect(text).not.toContain(token.replace("Bearer ", ""))
  })
})

describe("Langfuse export never slows or fails a request", () => {
  it("sends prompt and completion text only with LANGFUSE_LOG_CONTENT=true", async () => {
    const langfuse = await startReceiver(207)
    const gateway = await start({
      LANGFUSE_PUBLIC_KEY: "pk",
      LANGFUSE_SECRET_KEY: "sk",
      LANGFUSE_HOST: langfuse.url,
      LANGFUSE_LOG_CONTENT: "true"
    })
    const answer = await json(await chat(gateway, "content-user", { model: "claude-3" }))
    await gateway.close()
    const generation = langfuseEvents(langfuse).find((event) => event.type === "generation-create")!
    expect(JSON.stringify(generation.body["input"])).toContain(secretPrompt)
    expect(generation.body["output"]).toBe(answer.choices[0].message.content)
    await langfuse.close()
  })

  it("counts what a failing endpoint refuses as dropped, and requests stay fast while it hangs", async () => {
    const langfuse = await startReceiver(500)
    const gateway = await start({ LANGFUSE_PUBLIC_KEY: "pk", LANGFUSE_SECRET_KEY: "sk", LANGFUSE_HOST: langfuse.url })
    try {
      expect((await chat(gateway, "drop-user", { model: "claude-3" })).status).toBe(200)
      await until(() => langfuse.received.length > 0, "an export attempt")
      let metrics = ""
      const deadline = Date.now() + 5_000
      do {
        metrics = await (await fetch(`${gateway.url}/metrics`)).text()
      } while (
        (sample(metrics, "langfuse_events_dropped_total", { reason: "export_failed" }) ?? 0) < 2 &&
        Date.now() < deadline
      )
      expect(sample(metrics, "langfuse_events_dropped_total", { reason: "export_failed" })).toBe(2)
      const monitoring = await json(await fetch(`${gateway.url}/health/monitoring`))
      expect(monitoring.langfuse).toEqual({ status: "degraded", enabled: true, host: langfuse.url })

      langfuse.answer = "hang"
      for (let i = 0; i < 3; i++) {
        const started = performance.now()
        expect((await chat(gateway, "drop-user", { model: "claude-3" })).status).toBe(200)
        expect(performance.now() - started).toBeLessThan(1_000)
      }
    } finally {
      await gateway.close()
      await langfuse.close()
    }
  })
})
