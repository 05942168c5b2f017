/**
 * What one request in flight holds in memory: the gateway's heap with many requests waiting on a slow
 * upstream, against its heap with none, per request and by what holds it. A request that lives
 * across the young generation's collections is promoted to the old generation; what it holds while its
 * upstream call is pending is what the old space fills with under load.
 *
 *   node bench/inflight.ts [--requests 400] [--latency 4000] [--portkey] [--compare DIR] [--top 30]
 *
 * The fake upstream answers after --latency ms; --requests requests are opened at once; when the
 * upstream holds all of them, each gateway writes a heap snapshot (`--heapsnapshot-signal`), as it did
 * before with nothing in flight. The difference is summed by V8's node type and constructor name. Each
 * gateway's resident memory after its warm-up (50 requests) is printed too: what it holds at rest.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { Agent, request } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { type Server, startGateway, startPortkey, startUpstream, type Upstream } from "./servers.ts"
import { treeRss } from "./processes.ts"

const { values: flags } = parseArgs({
  options: {
    requests: { type: "string", default: "400" },
    latency: { type: "string", default: "4000" },
    portkey: { type: "boolean", default: false },
    compare: { type: "string" },
    top: { type: "string", default: "30" }
  }
})
const requests = Number(flags.requests)
const log = (line: string) => console.error(`[inflight] ${line}`)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface HeapSnapshot {
  readonly snapshot: { readonly meta: { readonly node_fields: Array<string>; readonly node_types: Array<unknown> } }
  readonly nodes: ReadonlyArray<number>
  readonly strings: ReadonlyArray<string>
}

/** Self sizes summed by "type name" (the constructor's name for objects, the function's for closures). */
const summarise = (file: string): Map<string, { bytes: number; count: number }> => {
  const heap: HeapSnapshot = JSON.parse(readFileSync(file, "utf8"))
  const fields = heap.snapshot.meta.node_fields
  const types = heap.snapshot.meta.node_types[0] as Array<string>
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((field) => fields.indexOf(field)) as [
    number,
    number,
    number
  ]
  const byKind = new Map<string, { bytes: number; count: number }>()
  for (let i = 0; i < heap.nodes.length; i += fields.length) {
    const type = types[heap.nodes[i + typeAt]!]!
    const name = ["object", "closure", "native", "hidden", "code"].includes(type)
      ? heap.strings[heap.nodes[i + nameAt]!]!.slice(0, 60)
      : ""
    const key = `${type} ${name}`.trim()
    const entry = byKind.get(key) ?? { bytes: 0, count: 0 }
    entry.bytes += heap.nodes[i + sizeAt]!
    entry.count += 1
    byKind.set(key, entry)
  }
  return byKind
}

/** Waits for the snapshot the signal asked for: a new file whose size has stopped growing. */
const snapshot = async (server: Server, directory: string): Promise<string> => {
  const before = new Set(readdirSync(directory))
  server.child.process.kill("SIGUSR2")
  for (;;) {
    await sleep(500)
    const file = readdirSync(directory).find((name) => !before.has(name) && name.endsWith(".heapsnapshot"))
    if (file === undefined) continue
    const path = join(directory, file)
    const size = statSync(path).size
    await sleep(1000)
    if (statSync(path).size === size && size > 0) return path
  }
}

const send = (server: Server, agent: Agent, connection: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const body = JSON.stringify({
      model: "bench-model",
      messages: [{ role: "user", content: "Say hello to the benchmark." }],
      max_tokens: 64
    })
    const req = request(
      server.target.url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", ...server.target.headers(connection) }
      },
      (res) => {
        res.resume()
        res.on("end", () => resolve(res.statusCode ?? 0))
      }
    )
    req.on("error", reject)
    req.end(body)
  })

const measure = async (server: Server, upstream: Upstream, directory: string) => {
  const agent = new Agent({ keepAlive: true, maxSockets: requests })
  // Warm up: the code paths compiled, the pools' connections open.
  await Promise.all(Array.from({ length: 50 }, (_, i) => send(server, agent, i)))
  await sleep(1000)
  // Before the snapshot, which takes memory of its own to write.
  const idleRss = treeRss(server.child.process.pid!)
  const idle = await snapshot(server, directory)
  const served = await upstream.served()
  const inFlight = Array.from({ length: requests }, (_, i) => send(server, agent, i))
  // Every request past the gateway and waiting on the upstream, whose count is of answered calls:
  // give them a fixed share of the upstream's latency instead.
  await sleep(Math.min(2000, Number(flags.latency) / 2))
  const busy = await snapshot(server, directory)
  const statuses = await Promise.all(inFlight)
  agent.destroy()
  const answered = (await upstream.served()) - served
  log(`${server.target.name}: ${answered} of ${requests} answered by the upstream, statuses ${[...new Set(statuses)]}`)
  const before = summarise(idle)
  const after = summarise(busy)
  rmSync(idle)
  rmSync(busy)
  const rows = [...after].map(([key, { bytes, count }]) => {
    const old = before.get(key) ?? { bytes: 0, count: 0 }
    return { key, bytes: bytes - old.bytes, count: count - old.count }
  })
  const total = rows.reduce((sum, row) => sum + row.bytes, 0)
  console.log(
    `\n${server.target.name}: resident ${(idleRss / 1048576).toFixed(1)} MB after its warm-up; ` +
      `${(total / 1024 / requests).toFixed(1)} KB of V8 heap per request in flight, by type and constructor:`
  )
  for (const row of rows.sort((a, b) => b.bytes - a.bytes).slice(0, Number(flags.top)))
    console.log(
      `${(row.bytes / requests).toFixed(0).padStart(7)} B  ${(row.count / requests).toFixed(1).padStart(6)} ×  ${row.key}`
    )
}

const directory = mkdtempSync(join(tmpdir(), "inflight-"))
const upstream = await startUpstream({ latencyMs: Number(flags.latency), chunks: 1, chunkIntervalMs: 1 })
const servers: Array<Server> = []
try {
  const diagnostics = ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${directory}`]
  servers.push(
    await startGateway(upstream, { name: "ours-full", redis: true, users: 50, workers: 1, nodeOptions: diagnostics })
  )
  if (flags.compare !== undefined)
    servers.push(
      await startGateway(upstream, {
        name: "ours-before",
        redis: true,
        users: 50,
        workers: 1,
        nodeOptions: diagnostics,
        root: flags.compare
      })
    )
  if (flags.portkey) servers.push(await startPortkey(upstream, diagnostics))
  for (const server of servers) await measure(server, upstream, directory)
} finally {
  for (const server of servers) await server.close()
  await upstream.child.stop()
  rmSync(directory, { recursive: true, force: true })
}
