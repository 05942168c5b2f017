/**
 * `node bench/sequential.ts [--compare DIR] [--requests 300]`: one request at a time, taking turns
 * between the direct call, our full pipeline and (with --compare) another checkout's, so all three
 * see the same moments of a busy machine. Reports each gateway's overhead over the direct call at
 * the minimum, 10th percentile and median: on a machine other work shares, the low percentiles of
 * an idle gateway's overhead are what it costs by itself; the median adds the queueing the other
 * work causes.
 */
import { parseArgs } from "node:util"
import { type Server, startGateway, startUpstream } from "./servers.ts"
import type { Target } from "./load.ts"

const { values: flags } = parseArgs({
  options: { compare: { type: "string" }, requests: { type: "string", default: "300" } }
})
const requests = Number(flags.requests)
const body = JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "hi" }], max_tokens: 16 })

const timeOne = async (target: Target): Promise<number> => {
  const started = performance.now()
  const response = await fetch(target.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...target.headers(0) },
    body
  })
  await response.text()
  if (response.status !== 200) throw new Error(`${target.name} answered ${response.status}`)
  return performance.now() - started
}

const quantile = (sorted: ReadonlyArray<number>, q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

const upstream = await startUpstream({ latencyMs: 50, chunks: 20, chunkIntervalMs: 5 })
const servers: Array<Server> = []
try {
  servers.push(await startGateway(upstream, { name: "ours-full", redis: true, users: 1, workers: 1 }))
  if (flags.compare !== undefined) {
    servers.push(
      await startGateway(upstream, { name: "ours-before", redis: true, users: 1, workers: 1, root: flags.compare })
    )
  }
  const targets = [upstream.target, ...servers.map((server) => server.target)]
  const times = new Map<string, Array<number>>(targets.map((target) => [target.name, []]))
  for (let i = 0; i < 20; i++) for (const target of targets) await timeOne(target) // warm-up
  for (let i = 0; i < requests; i++) {
    for (const target of targets) {
      times.get(target.name)!.push(await timeOne(target))
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  const direct = [...times.get("direct")!].sort((a, b) => a - b)
  console.log(`${requests} requests each, one at a time, taking turns; overhead over the direct call, ms`)
  console.log("target        min    p10    p50")
  for (const [name, list] of times) {
    if (name === "direct") continue
    const sorted = [...list].sort((a, b) => a - b)
    const cells = [0, 0.1, 0.5].map((q) => (quantile(sorted, q) - quantile(direct, q)).toFixed(2).padStart(6))
    console.log(`${name.padEnd(12)} ${cells.join(" ")}`)
  }
} finally {
  for (const server of servers.reverse()) await server.close()
  await upstream.child.stop()
}
