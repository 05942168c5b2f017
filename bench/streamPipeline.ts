/**
 * The CPU a streamed chat completion costs between the upstream's bytes and the bytes handed to the
 * response writer, in one process, without sockets: an async iterator of SSE frames (one frame per
 * macrotask, as they arrive over a network) through the OpenAI adapter's decoding, the bounds, the
 * translator, the metering and attempt stages, the first-chunk peel, the SSE framing with heartbeats
 * and the write bound. What it measures is the per-chunk machinery of Effect streams; the full
 * benchmark (`bench/run.ts --only stream`) measures everything else as well.
 *
 *   node bench/streamPipeline.ts [--streams 2000] [--concurrency 50] [--chunks 20] [--rounds 5]
 *                                [--stages decoded,bounded,translated,served,encoded,written]
 *
 * Each stage is the pipeline up to it; the difference between two stages is what the later one costs.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import * as Sse from "effect/encoding/Sse"
import { parseArgs } from "node:util"
import type { UpstreamTimeouts } from "../src/Config.ts"
import type { ChatCompletionChunk } from "../src/domain/Chat.ts"
import { ProviderError, TransportReason } from "../src/domain/ProviderError.ts"
import { boundWrites } from "../src/http/ClientWrites.ts"
import { encode } from "../src/http/Sse.ts"
import { boundStream } from "../src/providers/Bounds.ts"
import { streamTranslator } from "../src/providers/openai/translate.ts"
import { translateStream } from "../src/providers/StreamTranslator.ts"
import { answerJson } from "../src/providers/upstreamErrors.ts"

const { values } = parseArgs({
  options: {
    streams: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "50" },
    chunks: { type: "string", default: "20" },
    rounds: { type: "string", default: "5" },
    stages: { type: "string" }
  }
})
const streams = Number(values.streams)
const concurrency = Number(values.concurrency)
const chunkCount = Number(values.chunks)

const encoder = new TextEncoder()
const frameOf = (choices: unknown, extra: object = {}) =>
  encoder.encode(
    `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1, model: "gpt-4", choices, ...extra })}\n\n`
  )
const delta = (content: object, finish: string | null = null) => [{ index: 0, delta: content, finish_reason: finish }]
const upstreamFrames = [
  frameOf(delta({ role: "assistant", content: "" })),
  ...Array.from({ length: chunkCount }, (_, i) => frameOf(delta({ content: `tok${i} ` }))),
  frameOf(delta({}, "stop")),
  frameOf([], { usage: { prompt_tokens: 10, completion_tokens: chunkCount, total_tokens: 10 + chunkCount } }),
  encoder.encode("data: [DONE]\n\n")
]

/** One frame per macrotask, as a socket delivers them. */
async function* upstreamBody() {
  for (const frame of upstreamFrames) {
    await new Promise((resolve) => setImmediate(resolve))
    yield frame
  }
}

const timeouts: UpstreamTimeouts = {
  connect: Duration.seconds(10),
  firstByte: Duration.seconds(60),
  total: Duration.seconds(600),
  streamIdle: Duration.seconds(30),
  minOutputTokensPerSecond: 5
}
const fail = (reason: TransportReason) => new ProviderError({ provider: "openai", model: "gpt-4", reason })

const adapterEvents = () =>
  Stream.fromAsyncIterable(upstreamBody(), (error) => error).pipe(
    Stream.decodeText(),
    Stream.pipeThroughChannel(Sse.decode()),
    Stream.mapError(() => fail(new TransportReason({ message: "transport" }))),
    Stream.takeWhile((event) => !event.data.startsWith("[DONE]")),
    Stream.mapEffect((event) => {
      const data = answerJson(event.data, "OpenAI")
      return Result.isFailure(data)
        ? Effect.fail(fail(new TransportReason({ message: "json" })))
        : Effect.succeed(data.success)
    })
  )
const adapterStream = () => {
  const open = Effect.sync(adapterEvents)
  return translateStream(boundStream(open, timeouts, fail as never), streamTranslator("gpt-4", 1), fail as never)
}

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
    const scope = yield* Scope.fork(yield* Scope.Scope)
    const chunks = yield* Stream.peel(attempt, Sink.take(1)).pipe(
      Effect.map(([first, rest]) => Stream.concat(Stream.fromIterable(first), rest)),
      Scope.provide(scope)
    )
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
  decoded: drain(adapterEvents),
  bounded: drain(() => boundStream(Effect.sync(adapterEvents), timeouts, fail as never)),
  translated: drain(adapterStream),
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
          `${((best * 1000) / upstreamFrames.length).toFixed(1)} µs per upstream frame; all: ${ms.map((x) => x.toFixed(3)).join(" ")}`
      )
    }
  })
)
