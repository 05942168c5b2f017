/**
 * `node bench/health.ts`: does a flood of `/health/detailed` slow the chat path? Chat completions at a fixed rate,
 * alone and with `/health/detailed` at 1,000 calls/s beside them (unauthenticated, as anyone on the network could),
 * alternated run by run against one gateway. The health checks are shared and reused (HEALTH_CACHE_SECONDS), so
 * the flood should cost the chat path little: the ratio of its latencies with and without the flood says how much.
 *
 *   --seconds 10   each run      --rps 300      chat requests per second      --health-rps 1000
 *   --rounds 2     alone/flooded pairs            --latency 50   the fake upstream's latency, ms
 */
import autocannon from "autocannon"
import { parseArgs } from "node:util"
import { connectionsFor, type PlainRun, runPlain } from "./load.ts"
import { startGateway, startUpstream } from "./servers.ts"

const { values: flags } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    rps: { type: "string", default: "300" },
    "health-rps": { type: "string", default: "1000" },
    rounds: { type: "string", default: "2" },
    latency: { type: "string", default: "50" }
  }
})
const seconds = Number(flags.seconds)
const rps = Number(flags.rps)
const healthRps = Number(flags["health-rps"])
const latencyMs = Number(flags.latency)

const log = (message: string) => console.error(`[bench:health] ${message}`)

/** GETs of `url` at `rate` a second for `seconds`; how many were answered, and with what. */
const flood = (url: string, rate: number) =>
  new Promise<{ readonly achieved: number; readonly statuses: Record<string, number> }>((resolve, reject) => {
    const statuses: Record<string, number> = {}
    const instance = autocannon({ url, connections: 20, overallRate: rate, duration: seconds, timeout: 10 }, (error) =>
      error === null
        ? resolve({ achieved: Object.values(statuses).reduce((sum, n) => sum + n, 0) / seconds, statuses })
        : reject(error)
    )
    instance.on("response", (_client, status) => (statuses[status] = (statuses[status] ?? 0) + 1))
  })

const upstream = await startUpstream({ latencyMs, chunks: 20, chunkIntervalMs: 5 })
const gateway = await startGateway(upstream, { name: "ours", redis: true, users: 50, workers: 1 })
const healthUrl = gateway.target.url.replace("/v1/chat/completions", "/health/detailed")
const connections = connectionsFor(rps, latencyMs)

try {
  await runPlain(gateway.target, { rps, connections, seconds: 2 })
  const rows: Array<{ readonly kind: string; readonly run: PlainRun; readonly health?: number }> = []
  for (let round = 0; round < Number(flags.rounds); round++) {
    const alone = await runPlain(gateway.target, { rps, connections, seconds })
    rows.push({ kind: "chat alone", run: alone })
    const [flooded, health] = await Promise.all([
      runPlain(gateway.target, { rps, connections, seconds }),
      flood(healthUrl, healthRps)
    ])
    rows.push({ kind: `chat + /health/detailed @ ${healthRps}/s`, run: flooded, health: health.achieved })
    log(`round ${round + 1}: health statuses ${JSON.stringify(health.statuses)}`)
  }
  const median = (values: Array<number>) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  const of = (kind: string, pick: (run: PlainRun) => number) =>
    median(rows.filter((row) => row.kind.startsWith(kind)).map((row) => pick(row.run)))
  console.log("| run | chat done/s | p50 ms | p99 ms | errors | health done/s |")
  console.log("|---|---|---|---|---|---|")
  for (const { kind, run, health } of rows) {
    const summary = run.latency.summary()
    console.log(
      `| ${kind} | ${run.achievedRps.toFixed(0)} | ${summary.p50.toFixed(2)} | ${summary.p99.toFixed(2)} | ` +
        `${run.errors} | ${health === undefined ? "—" : health.toFixed(0)} |`
    )
  }
  const p50 = of("chat +", (run) => run.latency.summary().p50) / of("chat alone", (run) => run.latency.summary().p50)
  const p99 = of("chat +", (run) => run.latency.summary().p99) / of("chat alone", (run) => run.latency.summary().p99)
  console.log(`\nflooded ÷ alone (medians of the rounds): p50 ×${p50.toFixed(2)}, p99 ×${p99.toFixed(2)}`)
} finally {
  await gateway.close()
  await upstream.child.stop()
}
