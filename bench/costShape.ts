/**
 * How a gateway's CPU per request changes with its load, and a stream's with its length, side by side
 * with Portkey (and with another checkout, `--compare DIR`): what the fixed-rate rows of `npm run bench`
 * cannot separate.
 *
 *   node bench/costShape.ts [--requests] [--streams] [--seconds 10] [--compare DIR]
 *
 * `--requests`: plain requests one at a time (20 ms apart, as an idle gateway sees them), then 10 and 50
 * at a time (closed loops): the CPU each costs, and the mean latency of the one-at-a-time ones.
 * `--streams`: 100 streams a second of 2, 20 and 60 chunks, each stream 50 ms to its first chunk and
 * 100 ms from there to its end: what a stream costs by itself, and what each chunk adds. Neither flag:
 * both. CPU is the server's own (its process and its children, from /proc), over what the load cost.
 */
import { parseArgs } from "node:util"
import { runStreams } from "./load.ts"
import { treeCpuTicks } from "./processes.ts"
import { type Server, startGateway, startPortkey, startUpstream, type Upstream } from "./servers.ts"

const { values: flags } = parseArgs({
  options: {
    requests: { type: "boolean", default: false },
    streams: { type: "boolean", default: false },
    seconds: { type: "string", default: "10" },
    compare: { type: "string" }
  }
})
const both = !flags.requests && !flags.streams
const seconds = Number(flags.seconds)
const body = JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "hi" }], max_tokens: 16 })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const startServers = async (upstream: Upstream): Promise<Array<Server>> => {
  const servers = [await startPortkey(upstream)]
  servers.push(await startGateway(upstream, { name: "ours-full", redis: true, users: 1, workers: 1 }))
  if (flags.compare !== undefined) {
    servers.push(
      await startGateway(upstream, { name: "ours-before", redis: true, users: 1, workers: 1, root: flags.compare })
    )
  }
  return servers
}

/** The server's CPU time, in ms, while `load` runs. */
const cpuDuring = async <A>(server: Server, load: () => Promise<A>): Promise<[number, A]> => {
  const pid = server.child.process.pid!
  const before = treeCpuTicks(pid)
  const result = await load()
  return [(treeCpuTicks(pid) - before) * 10, result]
}

const send = async (server: Server): Promise<void> => {
  const response = await fetch(server.target.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...server.target.headers(0) },
    body
  })
  await response.text()
  if (response.status !== 200) throw new Error(`${server.target.name} answered ${response.status}`)
}

/** `concurrency` closed loops for `seconds` (one loop with a 20 ms pause after each request when it is 1). */
const loops = async (server: Server, concurrency: number) => {
  const until = performance.now() + seconds * 1000
  let done = 0
  let latency = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const started = performance.now()
        await send(server)
        latency += performance.now() - started
        done++
        if (concurrency === 1) await sleep(20)
      }
    })
  )
  return { done, latency: latency / done }
}

const requestsShape = async () => {
  const upstream = await startUpstream({ latencyMs: 50, chunks: 20, chunkIntervalMs: 5 })
  const servers = await startServers(upstream)
  try {
    for (const server of servers) for (let i = 0; i < 200; i++) await send(server) // warm-up
    console.log("plain requests: ms of server CPU per request (mean latency one at a time)")
    console.log("target          one at a time        10 at a time  50 at a time")
    for (const server of servers) {
      const cells: Array<string> = []
      for (const concurrency of [1, 10, 50]) {
        const [cpu, { done, latency }] = await cpuDuring(server, () => loops(server, concurrency))
        const perRequest = (cpu / done).toFixed(2)
        cells.push(concurrency === 1 ? `${perRequest} (${latency.toFixed(1)} ms)`.padEnd(20) : perRequest.padStart(12))
      }
      console.log(`${server.target.name.padEnd(15)} ${cells.join(" ")}`)
    }
  } finally {
    for (const server of servers.reverse()) await server.close()
    await upstream.child.stop()
  }
}

const streamsShape = async () => {
  const perChunks = new Map<string, Array<string>>()
  for (const chunks of [2, 20, 60]) {
    const upstream = await startUpstream({ latencyMs: 50, chunks, chunkIntervalMs: 100 / chunks })
    const servers = await startServers(upstream)
    try {
      for (const server of servers) await runStreams(server.target, { rps: 100, seconds: 3, chunks, users: 1 })
      for (const server of servers) {
        const [cpu, run] = await cpuDuring(server, () =>
          runStreams(server.target, { rps: 100, seconds, chunks, users: 1 })
        )
        if (run.errors > 0) throw new Error(`${server.target.name}: ${run.errors} streams failed: ${run.firstError}`)
        const cells = perChunks.get(server.target.name) ?? []
        cells.push((cpu / (100 * seconds)).toFixed(2).padStart(9))
        perChunks.set(server.target.name, cells)
      }
    } finally {
      for (const server of servers.reverse()) await server.close()
      await upstream.child.stop()
    }
  }
  console.log("100 streams a second: ms of server CPU per stream, by its chunks")
  console.log("target                  2       20       60")
  for (const [name, cells] of perChunks) console.log(`${name.padEnd(15)} ${cells.join("")}`)
}

if (both || flags.requests) await requestsShape()
if (both || flags.streams) await streamsShape()
