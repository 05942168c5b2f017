/**
 * What `Effect.fn("name")` costs a call next to `Effect.fnUntraced` and a plain function returning
 * `Effect.gen`, to decide which the per-request service methods use (docs/observability.md, "Spans and
 * functions in the code").
 * `fnUntraced+withSpan` is the form those methods take: the span `Effect.fn` would open, without its
 * call-site stack frame. The same small body (one `yield*`, one addition) is defined each way and
 * called in turn from one fiber, N calls a round, the rounds alternating and their order rotating so
 * that warm-up and other load on the machine fall on every variant alike. The runtime is the
 * gateway's when no OTLP endpoint is set: `References.TracerEnabled` false
 * (src/services/telemetry/Tracing.ts), so a span is a no-op span; `Effect.fn` still captures a
 * call-site stack frame per call. `fnUntraced+traced` uses src/services/telemetry/Spans.ts, which opens the
 * span only when tracing is on. `--tracer` leaves Effect's own in-memory tracer on instead.
 *
 *   node bench/effect-fn.ts [--calls 100000] [--rounds 30] [--tracer]
 */
import * as Effect from "effect/Effect"
import * as References from "effect/References"
import { parseArgs } from "node:util"
import { traced } from "../src/services/telemetry/Spans.ts"

const { values: flags } = parseArgs({
  options: {
    calls: { type: "string", default: "100000" },
    rounds: { type: "string", default: "30" },
    tracer: { type: "boolean", default: false }
  }
})
const calls = Number(flags.calls)
const rounds = Number(flags.rounds)

const step = (n: number) => Effect.succeed(n + 1)

const variants: ReadonlyArray<{ readonly name: string; readonly call: (n: number) => Effect.Effect<number> }> = [
  {
    name: 'Effect.fn("x")',
    call: Effect.fn("x")(function* (n: number) {
      return yield* step(n)
    })
  },
  {
    name: "Effect.fnUntraced",
    call: Effect.fnUntraced(function* (n: number) {
      return yield* step(n)
    })
  },
  {
    name: "fnUntraced+withSpan",
    call: Effect.fnUntraced(function* (n: number) {
      return yield* step(n)
    }, Effect.withSpan("x"))
  },
  {
    name: "fnUntraced+traced",
    call: Effect.fnUntraced(function* (n: number) {
      return yield* step(n)
    }, traced("x"))
  },
  {
    name: "plain function",
    call: (n: number) =>
      Effect.gen(function* () {
        return yield* step(n)
      })
  }
]

/** One round: `calls` calls in sequence in one fiber; microseconds per call. */
const round = (call: (n: number) => Effect.Effect<number>): Promise<number> => {
  const loop = Effect.gen(function* () {
    let total = 0
    for (let i = 0; i < calls; i++) total += yield* call(i)
    return total
  })
  const program = flags.tracer ? loop : loop.pipe(Effect.provideService(References.TracerEnabled, false))
  const started = process.hrtime.bigint()
  return Effect.runPromise(program).then(() => Number(process.hrtime.bigint() - started) / 1000 / calls)
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

const samples = variants.map(() => [] as Array<number>)
// Two rounds each to warm up (JIT), not counted.
for (let r = -2; r < rounds; r++) {
  for (let k = 0; k < variants.length; k++) {
    const index = (r + 2 + k) % variants.length
    const perCall = await round(variants[index]!.call)
    if (r >= 0) samples[index]!.push(perCall)
  }
}

const plain = median(samples[variants.length - 1]!)
console.log(
  `${calls} calls × ${rounds} rounds per variant, tracer ${flags.tracer ? "on (Effect's native tracer)" : "off (the gateway without OTLP)"}, node ${process.version}`
)
console.log("variant              µs/call (median)  min     max     vs plain")
for (const [index, variant] of variants.entries()) {
  const values = samples[index]!
  const mid = median(values)
  console.log(
    `${variant.name.padEnd(20)} ${mid.toFixed(3).padStart(16)}  ${Math.min(...values)
      .toFixed(3)
      .padStart(6)}  ${Math.max(...values)
      .toFixed(3)
      .padStart(6)}  ${(mid - plain >= 0 ? "+" : "") + (mid - plain).toFixed(3)}`
  )
}
