import { Effect, Layer, Logger } from "effect"
import { describe, expect, it } from "vitest"
import { GatewayConfig } from "../../src/Config.ts"
import { templateOf } from "../../src/http/Routes.ts"
import { jsonLine } from "../../src/Logging.ts"
import { Metrics } from "../../src/services/metrics/Metrics.ts"
import { ModelCatalog } from "../../src/services/registry/ModelCatalog.ts"
import { ProviderAdapters } from "../../src/services/registry/ProviderRegistry.ts"
import { Langfuse, maxQueued } from "../../src/services/telemetry/Langfuse.ts"
import { toIngestionEvents } from "../../src/services/telemetry/LangfuseEvents.ts"
import { RequestRecord } from "../../src/services/telemetry/RequestRecord.ts"
import { sample } from "../support/prometheus.ts"
import { startReceiver } from "../support/receiver.ts"

/** Services as production wires them, on a configuration of `env` and without provider adapters. */
const configured = <A, E>(layer: Layer.Layer<A, E, GatewayConfig | ProviderAdapters>, env: Record<string, string>) =>
  layer.pipe(Layer.provide(ProviderAdapters.layerNone), Layer.provide(GatewayConfig.layerTest(env)))

const noSnapshot = {
  refusals: { user_limit: 0, global_limit: 0, read_limit: 0, token_limit: 0 },
  storage: "memory",
  breakers: []
} as const

describe("route templates", () => {
  it("label by template, without query string or trailing slash; unknown paths are unmatched", () => {
    expect(templateOf("/v1/chat/completions?x=1")).toBe("/v1/chat/completions")
    expect(templateOf("/v1/models/gpt-4")).toBe("/v1/models/:id")
    expect(templateOf("/health/")).toBe("/health")
    expect(templateOf("/v1/models/a/b")).toBe("unmatched")
    expect(templateOf("/wp-admin")).toBe("unmatched")
  })
})

describe("user_balance", () => {
  it("keeps the most recently changed users up to METRICS_BALANCE_SERIES_LIMIT", async () => {
    const text = await Effect.runPromise(
      Effect.gen(function* () {
        const metrics = yield* Metrics
        metrics.balanceChanged("a", 1_000_000_000n)
        metrics.balanceChanged("b", 2_500_000_000n)
        metrics.balanceChanged("a", 500_000_000n)
        metrics.balanceChanged("c", 3_000_000_000n)
        return yield* metrics.render(noSnapshot)
      }).pipe(Effect.provide(configured(Metrics.layer, { METRICS_BALANCE_SERIES_LIMIT: "2" })))
    )
    expect(sample(text, "user_balance", { user_id: "a" })).toBe(0.5)
    expect(sample(text, "user_balance", { user_id: "b" })).toBeUndefined()
    expect(sample(text, "user_balance", { user_id: "c" })).toBe(3)
  })
})

describe("JSON log lines", () => {
  it("are flat: message, the object argument's fields and the annotations at the top level", () => {
    const lines: Array<string> = []
    const capture = Logger.map(jsonLine, (line) => void lines.push(line))
    Effect.runSync(
      Effect.logInfo("request", { request_id: "r1", status: 200 }).pipe(
        Effect.annotateLogs({ route: "/health" }),
        Effect.provide(Logger.layer([capture]))
      )
    )
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0]!)).toEqual({
      timestamp: expect.any(String),
      level: "info",
      message: "request",
      request_id: "r1",
      status: 200,
      route: "/health"
    })
  })
})

const chatRecord = (keepsContent: boolean) => {
  const record = new RequestRecord({ requestId: "req_1", method: "POST", route: "/v1/chat/completions", keepsContent })
  const catalog = Effect.runSync(
    Effect.service(ModelCatalog).pipe(Effect.provide(ModelCatalog.layer), Effect.provide(GatewayConfig.layerTest()))
  )
  const model = catalog.find("claude-3")!
  record.userId = "u1"
  record.status = 200
  record.chatStarted(model, { model: "claude-3", messages: [{ role: "user", content: "secret" }] }, false)
  record.upstreamStarted()
  record.attemptStarted()
  record.attemptEnded(model.id, true)
  record.upstreamEnded()
  record.answered(model, "anthropic")
  record.settled(
    {
      _tag: "Charge",
      model,
      promptTokens: 10,
      cachedTokens: 0,
      cacheWriteTokens: 0,
      completionTokens: 5,
      reasoningTokens: 0,
      source: "provider"
    },
    { status: "charged", charged: 12_500n, uncollected: 0n, balance: 1n, available: 1n }
  )
  record.completionText = "answer"
  return record
}

describe("Langfuse events", () => {
  it("make a trace and a generation with user, model, usage and cost; text only when allowed", () => {
    const [trace, generation] = toIngestionEvents(chatRecord(false), false, "production")
    expect(trace).toMatchObject({
      type: "trace-create",
      body: { id: "req_1", userId: "u1", environment: "production" }
    })
    expect(generation).toMatchObject({
      type: "generation-create",
      body: {
        traceId: "req_1",
        model: "claude-3-haiku-20240307",
        usageDetails: { input: 10, output: 5, total: 15 },
        costDetails: { total: 0.0000125 },
        level: "DEFAULT"
      }
    })
    expect(JSON.stringify([trace, generation])).not.toContain("secret")
    const [, withContent] = toIngestionEvents(chatRecord(true), true, "production")
    expect(withContent!.body).toMatchObject({ input: [{ role: "user", content: "secret" }], output: "answer" })
  })

  it("drops what does not fit in the queue and counts it, without waiting", async () => {
    const endpoint = await startReceiver()
    endpoint.answer = "hang"
    try {
      const text = await Effect.runPromise(
        Effect.gen(function* () {
          const langfuse = yield* Langfuse
          const metrics = yield* Metrics
          const record = chatRecord(false)
          for (let i = 0; i < maxQueued + 10; i++) langfuse.enqueue(record)
          return yield* metrics.render(noSnapshot)
        }).pipe(
          Effect.provide(
            configured(Layer.mergeAll(Langfuse.layer, Metrics.layer), {
              LANGFUSE_PUBLIC_KEY: "pk",
              LANGFUSE_SECRET_KEY: "sk",
              LANGFUSE_HOST: endpoint.url
            })
          ),
          Effect.scoped
        )
      )
      // Two events (trace and generation) per record.
      expect(sample(text, "langfuse_events_dropped_total", { reason: "queue_full" })).toBe(20)
    } finally {
      await endpoint.close()
    }
  }, 15_000)
})
