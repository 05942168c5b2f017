/**
 * The CPU a streamed chat completion costs this process between the upstream's socket and the bytes
 * handed to the response writer: the OpenAI adapter (undici, SSE decoding, the bounds, the translator)
 * against the benchmark's fake upstream in its own process, then the metering and attempt stages, the
 * first-chunk read (`firstChunk` of Resilience.ts), the SSE framing with heartbeats and the write bound, as
 * ChatCompletions and the HTTP layer put them. No gateway, no database, no response socket: what it measures is
 * the per-chunk machinery of the stream path; the full benchmark (`bench/run.ts --only stream`) measures
 * everything.
 *
 *   node bench/streamPipeline.ts [--streams 1000] [--concurrency 50] [--chunks 20] [--chunk-interval 1]
 *                                [--rounds 5] [--stages adapter,served,encoded,written]
 *
 * Each stage is the pipeline up to it; the difference between two stages is what the later one costs.
 * The rounds alternate the stages, and the best of each is printed: on a shared machine the best is
 * the figure least disturbed by others.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { parseArgs } from "node:util"
import type { CatalogModel } from "../src/domain/Catalog.ts"
import type { ChatCompletionChunk } from "../src/domain/Chat.ts"
import { boundWrites } from "../src/http/ClientWrites.ts"
import { encode } from "../src/http/Sse.ts"
import { makeOpenAIAdapter } from "../src/providers/openai/OpenAIAdapter.ts"
import type { ProviderRequest } from "../src/providers/Provider.ts"
import { buildCatalog, builtInModels } from "../src/services/registry/ModelCatalog.ts"
import { firstChunk } from "../src/services/resilience/Resilience.ts"
import { startUpstream } from "./servers.ts"
import { upstreamTimeouts as timeouts } from "../test/support/upstreamTimeouts.ts"

const { values } = parseArgs({
  options: {
    streams: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "50" },
    chunks: { type: "string", default: "20" },
    "chunk-interval": { type: "string", default: "1" },
    rounds: { type: "string", default: "5" },
    stages: { type: "string" }
  }
})
const streams = Number(values.streams)
const concurrency = Number(values.concurrency)
const chunkCount = Number(values.chunks)

const upstream = await startUpstream({
  latencyMs: 0,
  chunks: chunkCount,
  chunkIntervalMs: Number(values["chunk-interval"])
})
const model = (buildCatalog(builtInModels, "bench") as ReadonlyArray<CatalogModel>).find(
  (model) => model.id === "gpt-4"
)!
const request: ProviderRequest = {
  request: { model: "gpt-4", messages: [{ role: "user", content: "Tell a story" }], stream: true },
  model,
  maxTokens: 100,
  requestId: "req_bench"
}
const adapter = await Effect.runPromise(
  Effect.provideService(
    makeOpenAIAdapter({ apiKey: Redacted.make("sk-bench-upstream"), baseUrl: upstream.baseUrl }, timeouts),
    Scope.Scope,
    Scope.makeUnsafe()
  )
)
const adapterStream = () => adapter.stream(request)

/** The stages ChatCompletions, UpstreamAttempt and Resilience put around an attempt's stream, one map each. */
const served = (observe: () => void) =>
  Effect.gen(function* () {
    const attempt = Stream.unwrap(
      Effect.sync(() =>
        adapterStream().pipe(
          Stream.map((chunk) => {
            observe()
            return chunk
          }),
          Stream.tapError(() => Effect.void),
          Stream.map((chunk) => chunk),
          Stream.tapError(() => Effect.void)
        )
      )
    )
    const chunks = yield* firstChunk(attempt)
    return chunks.pipe(
      Stream.map((chunk) => chunk),
      Stream.tapError(() => Effect.void),
      Stream.onEnd(Effect.void),
      Stream.ensuring(Effect.void),
      Stream.mapError((error) => error)
    )
  })

const encoded = (chunks: Stream.Stream<ChatCompletionChunk, unknown>) =>
  encode(chunks, { includeUsage: true, heartbeatMs: 15_000, onError: () => Effect.die("failed") })

const drain = (stream: () => Stream.Stream<unknown, unknown>) => Effect.suspend(() => Stream.runDrain(stream()))

/** The pipeline up to each stage, to see what each costs. */
const stages: Record<string, Effect.Effect<unknown, unknown>> = {
  adapter: drain(adapterStream),
  served: Effect.scoped(
    Effect.flatMap(
      served(() => {}),
      (chunks) => Stream.runDrain(chunks)
    )
  ),
  encoded: Effect.scoped(
    Effect.flatMap(
      served(() => {}),
      (chunks) => Stream.runDrain(encoded(chunks))
    )
  ),
  written: Effect.scoped(
    Effect.gen(function* () {
      let observed = 0
      const chunks = yield* served(() => observed++)
      let bytes = 0
      yield* Stream.runForEach(boundWrites(encoded(chunks), { timeoutMs: 30_000, onStall: Effect.void }), (piece) =>
        Effect.sync(() => {
          bytes += piece.length
        })
      )
      if (observed < chunkCount) throw new Error(`observed ${observed} chunks`)
      return bytes
    })
  )
}

const measure = (stage: Effect.Effect<unknown, unknown>) =>
  Effect.gen(function* () {
    const start = process.cpuUsage()
    yield* Effect.forEach(Array.from({ length: streams }), () => stage, { concurrency, discard: true })
    const cpu = process.cpuUsage(start)
    return (cpu.user + cpu.system) / 1000 / streams
  })

const chosen = values.stages === undefined ? Object.keys(stages) : values.stages.split(",")
Effect.runFork(
  Effect.gen(function* () {
    const results = new Map<string, Array<number>>(chosen.map((name) => [name, []]))
    for (let round = 0; round <= Number(values.rounds); round++) {
      // Round 0 warms up; the rounds alternate the stages, so that a busy moment of the machine spreads over all.
      for (const name of chosen) {
        const ms = yield* measure(stages[name]!)
        if (round > 0) results.get(name)!.push(ms)
      }
    }
    for (const [name, ms] of results) {
      const best = Math.min(...ms)
      console.log(
        `${name.padEnd(11)} ${best.toFixed(3)} ms CPU per stream (best of ${ms.length}), ` +
          `${((best * 1000) / (chunkCount + 4)).toFixed(1)} µs per upstream event; all: ${ms.map((x) => x.toFixed(3)).join(" ")}`
      )
    }
  })
).addObserver(() => void upstream.child.stop())
