/**
 * How a gateway's CPU per request changes with its load, and a stream's with its length, side by side
 * with Portkey (and with another checkout, `--compare DIR`): what the fixed-rate rows of `npm run bench`
 * cannot separate.
 *
 *   node bench/costShape.ts [--requests] [--streams] [--seconds 10] [--compare DIR]
 *
 * `--requests`: plain requests one at a time (20 ms apart, as an idle gateway sees them), then 10 and 50
 * at a time (closed loops): the CPU each costs, net of what the server spends at rest over as long (its
 * timers), and the mean latency of the one-at-a-time ones. Every request is one account's.
 * `--streams`: 100 streams a second of 2, 20 and 60 chunks, each stream 50 ms to its first chunk and
 * 100 ms from there to its end: what a stream costs by itself, and what each chunk adds. Neither flag:
 * both. CPU is the server's own (its process and its children, from /proc), over what the load cost.
 */
import { parseArgs } from "node:util"
import { runStreams } from "./load.ts"
import { treeCpuTicks } from "./processes.ts"
import { type Server, startGateway, startPortkey, startUpstream } from "./servers.ts"

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

/** Runs `use` with the fake upstream and the servers, each pushed to `servers` as it starts; stops them all after. */
const withServers = async (
  upstreamOptions: Parameters<typeof startUpstream>[0],
  use: (servers: ReadonlyArray<Server>) => Promise<void>
) => {
  const upstream = await startUpstream(upstreamOptions)
  const servers: Array<Server> = []
  try {
    servers.push(await startPortkey(upstream))
    servers.push(await startGateway(upstream, { name: "ours-full", redis: true, users: 1, workers: 1 }))
    if (flags.compare !== undefined) {
      servers.push(
        await startGateway(upstream, { name: "ours-before", redis: true, users: 1, workers: 1, root: flags.compare })
      )
    }
    await use(servers)
  } finally {
    for (const server of servers.reverse()) await server.close()
    await upstream.child.stop()
  }
}

/** The server's CPU time, in ms, while `load` runs, and how long it ran. */
const cpuDuring = async <A>(server: Server, load: () => Promise<A>): Promise<[number, number, A]> => {
  const pid = server.child.process.pid!
  const before = treeCpuTicks(pid)
  const started = performance.now()
  const result = await load()
  return [(treeCpuTicks(pid) - before) * 10, performance.now() - started, result]
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

const requestsShape = () =>
  withServers({ latencyMs: 50, chunks: 20, chunkIntervalMs: 5 }, async (servers) => {
    for (const server of servers) for (let i = 0; i < 200; i++) await send(server) // warm-up
    console.log("plain requests: ms of server CPU per request, net of its CPU at rest (mean latency one at a time)")
    console.log("target          at rest, cores  one at a time        10 at a time  50 at a time")
    for (const server of servers) {
      const [restCpu, restMs] = await cpuDuring(server, () => sleep(seconds * 1000))
      const restPerMs = restCpu / restMs
      const cells = [restPerMs.toFixed(3).padStart(14)]
      for (const concurrency of [1, 10, 50]) {
        const [cpu, elapsed, { done, latency }] = await cpuDuring(server, () => loops(server, concurrency))
        const perRequest = ((cpu - restPerMs * elapsed) / done).toFixed(2)
        cells.push(concurrency === 1 ? `${perRequest} (${latency.toFixed(1)} ms)`.padEnd(20) : perRequest.padStart(12))
      }
      console.log(`${server.target.name.padEnd(15)} ${cells.join("  ")}`)
    }
  })

const streamsShape = async () => {
  const perChunks = new Map<string, Array<string>>()
  for (const chunks of [2, 20, 60]) {
    await withServers({ latencyMs: 50, chunks, chunkIntervalMs: 100 / chunks }, async (servers) => {
      for (const server of servers) await runStreams(server.target, { rps: 100, seconds: 3, chunks, users: 1 })
      for (const server of servers) {
        const [cpu, , run] = await cpuDuring(server, () =>
          runStreams(server.target, { rps: 100, seconds, chunks, users: 1 })
        )
        if (run.errors > 0) throw new Error(`${server.target.name}: ${run.errors} streams failed: ${run.firstError}`)
        const cells = perChunks.get(server.target.name) ?? []
        cells.push((cpu / (100 * seconds)).toFixed(2).padStart(9))
        perChunks.set(server.target.name, cells)
      }
    })
  }
  console.log("100 streams a second: ms of server CPU per stream, by its chunks")
  console.log("target                  2       20       60")
  for (const [name, cells] of perChunks) console.log(`${name.padEnd(15)} ${cells.join("")}`)
}

if (both || flags.requests) await requestsShape()
if (both || flags.streams) await streamsShape()
