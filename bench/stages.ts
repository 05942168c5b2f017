/**
 * `node bench/stages.ts [--requests 200] [--root DIR]`: where one request's time goes on an idle
 * gateway. Runs the full pipeline with tracing on, its spans sent to a small OTLP/HTTP receiver in
 * this process, sends one request at a time (20 ms apart) and prints, for every span name, the
 * median start and end relative to the request's server span, and the median duration: the
 * request's critical path, stage by stage. Tracing costs a little by itself (real spans are made and
 * exported), so the totals are a few tenths of a millisecond above the untraced gateway's; the
 * order and the size of the stages are what this is for.
 */
import { createServer } from "node:http"
import { parseArgs } from "node:util"
import { startGateway, startUpstream } from "./servers.ts"

const { values: flags } = parseArgs({
  options: { requests: { type: "string", default: "200" }, root: { type: "string" }, profile: { type: "boolean" } }
})
const requests = Number(flags.requests)
const body = JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "hi" }], max_tokens: 16 })

interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly startTimeUnixNano: string
  readonly endTimeUnixNano: string
}
interface OtlpExport {
  readonly resourceSpans: ReadonlyArray<{
    readonly scopeSpans: ReadonlyArray<{ readonly spans: ReadonlyArray<OtlpSpan> }>
  }>
}

const spans: Array<OtlpSpan> = []
const receiver = createServer((request, response) => {
  const chunks: Array<Buffer> = []
  request.on("data", (chunk: Buffer) => chunks.push(chunk))
  request.on("end", () => {
    const batch = JSON.parse(Buffer.concat(chunks).toString("utf8")) as OtlpExport
    for (const resource of batch.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans)
    response.writeHead(200, { "content-type": "application/json" }).end("{}")
  })
})
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
const address = receiver.address()
if (address === null || typeof address === "string") throw new Error("no receiver port")

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const ms = (nanos: string) => Number(BigInt(nanos) / 1000n) / 1000

const upstream = await startUpstream({ latencyMs: 50, chunks: 20, chunkIntervalMs: 5 })
const gateway = await startGateway(upstream, {
  name: "ours-traced",
  redis: true,
  users: 1,
  workers: 1,
  ...(flags.root !== undefined && { root: flags.root }),
  ...(flags.profile === true && { nodeOptions: ["--cpu-prof", "--cpu-prof-dir=bench/results/profiles"] }),
  env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${address.port}`, OTEL_TRACES_SAMPLER_ARG: "1" }
})
try {
  const send = async () => {
    const started = performance.now()
    const response = await fetch(gateway.target.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...gateway.target.headers(0) },
      body
    })
    await response.text()
    if (response.status !== 200) throw new Error(`the gateway answered ${response.status}`)
    return performance.now() - started
  }
  for (let i = 0; i < 20; i++) await send() // warm-up, its spans left out below
  await new Promise((resolve) => setTimeout(resolve, 6_000)) // the batch exporter's 5-s period
  const warmupSpans = new Set(spans.map((span) => span.traceId))
  const clientTimes: Array<number> = []
  for (let i = 0; i < requests; i++) {
    clientTimes.push(await send())
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  await new Promise((resolve) => setTimeout(resolve, 6_000))

  const traces = new Map<string, Array<OtlpSpan>>()
  for (const span of spans) {
    if (warmupSpans.has(span.traceId)) continue
    const trace = traces.get(span.traceId) ?? []
    trace.push(span)
    traces.set(span.traceId, trace)
  }
  // Per span name: start and end relative to the trace's root (the HTTP server span), in ms.
  const stages = new Map<string, { starts: Array<number>; ends: Array<number>; durations: Array<number> }>()
  let chatTraces = 0
  for (const trace of traces.values()) {
    const ids = new Set(trace.map((span) => span.spanId))
    const root = trace.find((span) => span.parentSpanId === undefined || !ids.has(span.parentSpanId))
    if (root === undefined || !trace.some((span) => span.name === "Billing.reserve")) continue
    chatTraces++
    const origin = ms(root.startTimeUnixNano)
    for (const span of trace) {
      const stage = stages.get(span.name) ?? { starts: [], ends: [], durations: [] }
      stage.starts.push(ms(span.startTimeUnixNano) - origin)
      stage.ends.push(ms(span.endTimeUnixNano) - origin)
      stage.durations.push(ms(span.endTimeUnixNano) - ms(span.startTimeUnixNano))
      stages.set(span.name, stage)
    }
  }
  console.log(
    `${chatTraces} traced requests of ${requests}, one at a time; client-side median ${median(clientTimes).toFixed(2)} ms`
  )
  console.log("medians, ms from the server span's start   start      end  duration  count  span")
  const rows = [...stages].sort((a, b) => median(a[1].starts) - median(b[1].starts))
  for (const [name, stage] of rows) {
    const cells = [median(stage.starts), median(stage.ends), median(stage.durations)].map((value) =>
      value.toFixed(2).padStart(8)
    )
    console.log(`${" ".repeat(40)}${cells.join(" ")} ${String(stage.starts.length).padStart(6)}  ${name}`)
  }
} finally {
  await gateway.close()
  await upstream.child.stop()
  receiver.close()
}
