/**
 * `node bench/health.ts`: does a flood of `/health/detailed` slow the chat path? Chat completions at a fixed rate,
 * alone and with `/health/detailed` at 1,000 calls/s beside them (unauthenticated, as anyone on the network could),
 * alternated run by run against one gateway. The health checks are shared and reused (HEALTH_CACHE_SECONDS), so
 * the flood should cost the chat path little: the ratio of its latencies with and without the flood says how much.
 *
 *   --seconds 10   each run      --rps 300      chat requests per second      --health-rps 1000
 *   --rounds 2     alone/flooded pairs            --latency 50   the fake upstream's latency, ms
 *   --compare DIR  also run another checkout of the gateway (say, before a change) as "before", alternated
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
    latency: { type: "string", default: "50" },
    compare: { type: "string" }
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
const gateways = [await startGateway(upstream, { name: "ours", redis: true, users: 50, workers: 1 })]
if (flags.compare !== undefined) {
  gateways.push(
    await startGateway(upstream, { name: "before", redis: true, users: 50, workers: 1, root: flags.compare })
  )
}
const connections = connectionsFor(rps, latencyMs)

interface Row {
  readonly gateway: string
  readonly flooded: boolean
  readonly run: PlainRun
  readonly health?: number
  /** Dependency checks (database, Redis) that really ran during the run, from /health/history's total. */
  readonly checks?: number
}

/** How many health checks a gateway has run so far (each one a query to PostgreSQL or Redis, or a reading). */
const checksRun = async (chatUrl: string): Promise<number> =>
  ((await (await fetch(chatUrl.replace("/v1/chat/completions", "/health/history"))).json()) as { total_checks: number })
    .total_checks

try {
  for (const gateway of gateways) await runPlain(gateway.target, { rps, connections, seconds: 2 })
  const rows: Array<Row> = []
  for (let round = 0; round < Number(flags.rounds); round++) {
    for (const gateway of gateways) {
      const name = gateway.target.name
      rows.push({ gateway: name, flooded: false, run: await runPlain(gateway.target, { rps, connections, seconds }) })
      const healthUrl = gateway.target.url.replace("/v1/chat/completions", "/health/detailed")
      const checksBefore = await checksRun(gateway.target.url)
      const [run, health] = await Promise.all([
        runPlain(gateway.target, { rps, connections, seconds }),
        flood(healthUrl, healthRps)
      ])
      const checks = (await checksRun(gateway.target.url)) - checksBefore - 1
      rows.push({ gateway: name, flooded: true, run, health: health.achieved, checks })
      log(`round ${round + 1}, ${name}: health statuses ${JSON.stringify(health.statuses)}`)
    }
  }
  const median = (values: Array<number>) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  console.log("| gateway | run | chat done/s | p50 ms | p99 ms | errors | health done/s | checks run |")
  console.log("|---|---|---|---|---|---|---|---|")
  for (const { gateway, flooded, run, health, checks } of rows) {
    const summary = run.latency.summary()
    console.log(
      `| ${gateway} | ${flooded ? `chat + /health/detailed @ ${healthRps}/s` : "chat alone"} | ` +
        `${run.achievedRps.toFixed(0)} | ${summary.p50.toFixed(2)} | ${summary.p99.toFixed(2)} | ${run.errors} | ` +
        `${health === undefined ? "—" : health.toFixed(0)} | ${checks ?? "—"} |`
    )
  }
  for (const gateway of gateways) {
    const of = (flooded: boolean, pick: (run: PlainRun) => number) =>
      median(
        rows.filter((row) => row.gateway === gateway.target.name && row.flooded === flooded).map((row) => pick(row.run))
      )
    const p50 = of(true, (run) => run.latency.summary().p50) / of(false, (run) => run.latency.summary().p50)
    const p99 = of(true, (run) => run.latency.summary().p99) / of(false, (run) => run.latency.summary().p99)
    console.log(
      `${gateway.target.name}: flooded ÷ alone (medians of the rounds): p50 ×${p50.toFixed(2)}, p99 ×${p99.toFixed(2)}`
    )
  }
} finally {
  for (const gateway of gateways) await gateway.close()
  await upstream.child.stop()
}
