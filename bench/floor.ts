/**
 * The floor of the stack: what a plain chat request costs the chosen stack before any gateway logic.
 * Each server is a bare pass-through (read the JSON body, call the fake upstream with undici, answer with
 * its JSON), in its own process with the node flags of `npm start`, measured in turn after the upstream
 * called directly:
 *
 *   node:http      Node itself (bench/floor/nodeServer.ts)
 *   effect         an Effect HttpApi served as the gateway serves its own (bench/floor/effectServer.ts)
 *   effect+span    the same, the upstream call in an Effect.withSpan
 *   effect+fork    the same, a fiber forked and joined per request
 *
 *   node bench/floor.ts [--rate 1000] [--seconds 10] [--warmup 3] [--latency 50]
 */
import { loadavg } from "node:os"
import { parseArgs } from "node:util"
import { cpuMeter } from "./cpu.ts"
import { connectionsFor, type PlainRun, runPlain, type Target } from "./load.ts"
import { type Child, startChild, waitForLine } from "./processes.ts"
import { plainRow, type Row, table } from "./report.ts"
import { startFlags, startUpstream, type Upstream } from "./servers.ts"

const { values: flags } = parseArgs({
  options: {
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    latency: { type: "string", default: "50" }
  }
})
const rps = Number(flags.rate)
const seconds = Number(flags.seconds)
const warmup = Number(flags.warmup)
const latencyMs = Number(flags.latency)

const entry = (file: string) => new URL(`./floor/${file}`, import.meta.url).pathname
const servers: ReadonlyArray<{ readonly name: string; readonly args: ReadonlyArray<string> }> = [
  { name: "node:http", args: [entry("nodeServer.ts")] },
  { name: "effect", args: [entry("effectServer.ts"), "--variant", "plain"] },
  { name: "effect+span", args: [entry("effectServer.ts"), "--variant", "span"] },
  { name: "effect+fork", args: [entry("effectServer.ts"), "--variant", "fork"] }
]

const log = (message: string) => console.error(`[floor] ${message}`)

const start = async (name: string, args: ReadonlyArray<string>, upstream: Upstream): Promise<[Child, Target]> => {
  const child = startChild(name, [...args, "--upstream", upstream.target.url], {
    nodeOptions: startFlags(new URL("..", import.meta.url).pathname)
  })
  try {
    const [, port] = await waitForLine(child, /Listening on http:\/\/[^:\s]+:(\d+)/)
    return [child, { name, url: `http://127.0.0.1:${port}/v1/chat/completions`, headers: () => ({}) }]
  } catch (error) {
    await child.stop()
    throw error
  }
}

/** Checks that a server answers with the upstream's completion, through the upstream. */
const smoke = async (upstream: Upstream, target: Target) => {
  const before = await upstream.served()
  const response = await fetch(target.url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "hi" }] })
  })
  const text = await response.text()
  const served = (await upstream.served()) - before
  if (response.status !== 200 || !text.includes("Hello from the benchmark upstream") || served !== 1)
    throw new Error(`${target.name} does not pass through (status ${response.status}, ${served} calls): ${text}`)
}

/** A warm-up, then a measured run: latency, the server's CPU time and its peak resident memory. */
const measure = async (target: Target, child: Child, direct: PlainRun | undefined): Promise<[PlainRun, Row]> => {
  const load = { rps, connections: connectionsFor(rps, latencyMs), seconds }
  if (warmup > 0) await runPlain(target, { ...load, seconds: warmup })
  let peak = child.rss()
  const sampler = setInterval(() => (peak = Math.max(peak, child.rss())), 250)
  const cpu = cpuMeter(child.process.pid)
  const run = await runPlain(target, load).finally(() => clearInterval(sampler))
  const row = plainRow("floor", target.name, run, direct, { rssBytes: Math.max(peak, child.rss()), cpu: cpu() })
  log(`${target.name}: ${run.latency.count} requests done, ${run.errors} errors, cpu ${JSON.stringify(row.cpu)}`)
  return [run, row]
}

const main = async () => {
  log(`${rps}/s for ${seconds} s after a ${warmup} s warm-up; upstream latency ${latencyMs} ms`)
  const upstream = await startUpstream({ latencyMs, chunks: 20, chunkIntervalMs: 5 })
  try {
    const [direct, directRow] = await measure(upstream.target, upstream.child, undefined)
    const rows = [directRow]
    // One server at a time, so that the others' idle processes stay out of the machine's load.
    for (const { name, args } of servers) {
      const [child, target] = await start(name, args, upstream)
      try {
        await smoke(upstream, target)
        rows.push((await measure(target, child, direct))[1])
      } finally {
        await child.stop()
      }
    }
    console.log(`\n${table(rows)}\n`)
    console.log(
      `Load average (1, 5, 15 min): ${loadavg()
        .map((load) => load.toFixed(2))
        .join(", ")}`
    )
    console.log(
      `To compare with the gateway at the same rate: npm run bench -- --only plain --rates ${rps} --seconds ${seconds}` +
        ` (its "cpu ms/req" minus effect's here is what the gateway's own logic costs).`
    )
  } finally {
    await upstream.child.stop()
  }
}

await main()
