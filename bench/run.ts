/**
 * `npm run bench`: our gateway side by side with the fake upstream called directly and the
 * Portkey gateway in front of the same fake, alternated at each rate in one invocation.
 * See BENCHMARKS.md for the method. Flags (defaults in parentheses):
 *
 *   --seconds 15        measured length of each run (after a warm-up of --warmup 3)
 *   --rates 500,1000    fixed rates of the non-streamed scenarios
 *   --max-rates 50,100,150,200,300,400,600,800,1000,1300,1600,2000   rising rates tried for the highest sustained one
 *   --max-seconds 8     measured length of each of those runs, or longer to hold 1,000 requests (`max`: --users
 *                       accounts; `max1`: one account, every request from one user, as one backend service with one
 *                       token sends them)
 *   --idle-rps 5        the rate of the `idle` scenario: requests far apart, an idle gateway's overhead
 *   --stream-rps 100    streams opened per second (--chunks 20 content chunks, --chunk-interval 5 ms apart)
 *   --latency 50        the fake upstream's latency, ms (also its time to first token)
 *   --soak 120          seconds of the memory soak (0: skip), at --soak-rps 500
 *   --users 50          distinct users (JWTs), one per connection in turn
 *   --workers 1         our gateway's WEB_CONCURRENCY
 *   --only plain,idle,max,max1,stream,soak   scenarios to run
 *   --quiet-wait 60     seconds to wait, before each run, for a second in which other processes use under 0.25
 *                       cores (0: do not wait; on a shared machine the rows then say how busy it was)
 *   --attempts 3        runs during which other processes used over 0.25 cores are run again, up to this many
 *                       times in all (the quietest is kept)
 *   --node-options=…    node flags for our gateways, e.g. --node-options=--max-semi-space-size=16
 *   --quick             a smoke run: short runs, one rate, a short soak
 *   --compare DIR       also run the full pipeline of another checkout (say, before a change) as "ours-before"
 *   --compared-first    run ours-before (and ours-async-commit) before ours-full in every scenario: consecutive
 *                       saturated runs do not see the same machine (BENCHMARKS.md), so a comparison is run in
 *                       both orders
 *   --async-commit      also run the full pipeline on a database whose commits skip the WAL flush (a diagnostic
 *                       of what durable commits cost; "ours-async-commit")
 *   --heap              sample our full-pipeline gateway's heap spaces every second (bench/heapSampler.ts;
 *                       the file is named in the output; summarise it with `node bench/heapSampler.ts FILE`)
 *   --allocations       sample what our full-pipeline gateway allocates, freed objects included
 *                       (bench/allocationSampler.ts; summarise with `node bench/allocationSampler.ts FILE`)
 *   --profile           run our full-pipeline gateway with --cpu-prof (profiles in bench/results/profiles;
 *                       summarise one with `node bench/profileSummary.ts FILE`)
 */
import { mkdirSync } from "node:fs"
import { parseArgs } from "node:util"
import { connectionsFor, runPlain, runStreams, type PlainRun, type StreamRun, type Target } from "./load.ts"
import { cpuMeter } from "./cpu.ts"
import { machine, type Measured, plainRow, type Row, streamRow, table, targetsTable, writeResults } from "./report.ts"
import { type Server, startGateway, startPortkey, startUpstream, type Upstream } from "./servers.ts"
import { type Child } from "./processes.ts"
import { soak } from "./soak.ts"

const { values: flags } = parseArgs({
  options: {
    seconds: { type: "string", default: "15" },
    warmup: { type: "string", default: "3" },
    rates: { type: "string", default: "500,1000" },
    "max-rates": { type: "string", default: "50,100,150,200,300,400,600,800,1000,1300,1600,2000" },
    "max-seconds": { type: "string", default: "8" },
    "idle-rps": { type: "string", default: "5" },
    "stream-rps": { type: "string", default: "100" },
    chunks: { type: "string", default: "20" },
    "chunk-interval": { type: "string", default: "5" },
    latency: { type: "string", default: "50" },
    soak: { type: "string", default: "120" },
    "soak-rps": { type: "string", default: "500" },
    users: { type: "string", default: "50" },
    workers: { type: "string", default: "1" },
    only: { type: "string", default: "plain,idle,max,max1,stream,soak" },
    quick: { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    heap: { type: "boolean", default: false },
    allocations: { type: "boolean", default: false },
    compare: { type: "string" },
    "async-commit": { type: "boolean", default: false },
    "compared-first": { type: "boolean", default: false },
    attempts: { type: "string", default: "3" },
    "quiet-wait": { type: "string", default: "60" },
    "node-options": { type: "string", default: "" }
  }
})
const numbers = (text: string) => text.split(",").map(Number)
const quick = flags.quick
const settings = {
  seconds: quick ? 4 : Number(flags.seconds),
  warmup: quick ? 1 : Number(flags.warmup),
  rates: quick ? [1000] : numbers(flags.rates),
  maxRates: quick ? [300, 600] : numbers(flags["max-rates"]),
  maxSeconds: quick ? 3 : Number(flags["max-seconds"]),
  idleRps: Number(flags["idle-rps"]),
  streamRps: Number(flags["stream-rps"]),
  chunks: Number(flags.chunks),
  chunkIntervalMs: Number(flags["chunk-interval"]),
  latencyMs: Number(flags.latency),
  soakSeconds: quick ? 20 : Number(flags.soak),
  soakRps: Number(flags["soak-rps"]),
  users: Number(flags.users),
  workers: Number(flags.workers),
  scenarios: new Set(flags.only.split(",")),
  attempts: Number(flags.attempts),
  quietWaitSeconds: Number(flags["quiet-wait"]),
  nodeOptions: flags["node-options"]
}

const log = (message: string) => console.error(`[bench] ${message}`)

/** The peak resident memory of `child` while `work` runs, and where the CPU went. */
const measure = async <A>(child: Child | undefined, work: () => Promise<A>): Promise<[A, Measured]> => {
  let peak = child?.rss() ?? 0
  const timer = setInterval(() => (peak = Math.max(peak, child?.rss() ?? 0)), 250)
  const cpu = cpuMeter(child?.process.pid)
  try {
    const result = await work()
    return [result, { rssBytes: Math.max(peak, child?.rss() ?? 0), cpu: cpu() }]
  } finally {
    clearInterval(timer)
  }
}

/** Cores other processes (not the benchmark's, PostgreSQL or Redis) may use during a run that is kept. */
const foreignLimit = 0.25

/** Waits, up to --quiet-wait seconds, for a second in which other processes used less than `foreignLimit` cores. */
const waitForQuiet = async () => {
  if (settings.quietWaitSeconds <= 0) return
  const deadline = Date.now() + settings.quietWaitSeconds * 1000
  while (Date.now() < deadline) {
    const meter = cpuMeter(undefined)
    await new Promise((resolve) => setTimeout(resolve, 1000))
    if (meter().foreign < foreignLimit) return
  }
  log(`the machine stayed busy for ${settings.quietWaitSeconds} s; measuring anyway`)
}

/**
 * Measures `work` in a quiet moment; when other processes still used more than
 * `foreignLimit` cores during it, runs it again (up to --attempts in all) and keeps the quietest.
 */
const quietly = async <A>(label: string, child: Child | undefined, work: () => Promise<A>): Promise<[A, Measured]> => {
  let best: [A, Measured] | undefined
  for (let attempt = 1; attempt <= settings.attempts; attempt++) {
    await waitForQuiet()
    const result = await measure(child, work)
    if (best === undefined || result[1].cpu.foreign < best[1].cpu.foreign) best = result
    if (result[1].cpu.foreign <= foreignLimit) break
    log(`${label}: other processes used ${result[1].cpu.foreign} cores during the run`)
  }
  return best!
}

const plain = async (
  target: Target,
  child: Child | undefined,
  rps: number,
  seconds = settings.seconds
): Promise<[PlainRun, Measured]> => {
  const connections = connectionsFor(rps, settings.latencyMs)
  if (settings.warmup > 0) await runPlain(target, { rps, connections, seconds: settings.warmup })
  const [run, measured] = await quietly(`${target.name} @ ${rps}/s`, child, () =>
    runPlain(target, { rps, connections, seconds })
  )
  const summary = run.latency.summary()
  log(
    `${target.name} @ ${rps}/s: ${run.achievedRps.toFixed(0)}/s done, p50 ${summary.p50.toFixed(2)} ms, ` +
      `p99 ${summary.p99.toFixed(2)} ms, errors ${run.errors}, cpu ${JSON.stringify(measured.cpu)}`
  )
  return [run, measured]
}

const streams = async (target: Target, child: Child | undefined): Promise<[StreamRun, Measured]> => {
  const options = { rps: settings.streamRps, chunks: settings.chunks, users: settings.users }
  if (settings.warmup > 0) await runStreams(target, { ...options, seconds: settings.warmup })
  const [run, measured] = await quietly(`${target.name} streams`, child, () =>
    runStreams(target, { ...options, seconds: settings.seconds })
  )
  log(
    `${target.name} streams @ ${settings.streamRps}/s: TTFT p99 ${run.ttft.summary().p99.toFixed(2)} ms, errors ${run.errors}`
  )
  return [run, measured]
}

/** Checks that a target answers a plain request with the fake upstream's completion, through the fake. */
const smoke = async (upstream: Upstream, target: Target) => {
  const before = await upstream.served()
  const response = await fetch(target.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...target.headers(0) },
    body: JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "hi" }], max_tokens: 8 })
  })
  const text = await response.text()
  const served = (await upstream.served()) - before
  if (response.status !== 200 || !text.includes("Hello from the benchmark upstream") || served !== 1) {
    throw new Error(
      `${target.name} does not reach the fake upstream (status ${response.status}, ${served} calls): ${text}`
    )
  }
}

/** Non-streamed runs at fixed rates: each target in turn at each rate, the direct call first. */
const plainScenarios = async (
  upstream: Upstream,
  servers: ReadonlyArray<[label: string, server: Server]>,
  rows: Array<Row>
) => {
  for (const rps of settings.rates) {
    const [direct, directMeasured] = await plain(upstream.target, upstream.child, rps)
    rows.push(plainRow("plain", "direct", direct, undefined, directMeasured))
    for (const [label, server] of servers) {
      const [run, measured] = await plain(server.target, server.child, rps)
      rows.push(plainRow(label, server.target.name, run, direct, measured))
    }
  }
}

/** The fewest requests a run of the rising rates holds, so that its p99 rests on ten of them or more. */
const minimumRequests = 1_000

/**
 * Rising rates, each target in turn after the direct call, until a target no longer sustains
 * one: p99 overhead ≤ 10 ms, at least 95% of the offered rate done, no errors.
 */
const maxThroughput = async (
  upstream: Upstream,
  servers: ReadonlyArray<Server>,
  rows: Array<Row>,
  scenario: string,
  targetOf: (server: Server) => Target
) => {
  const sustained = (row: Row) =>
    row.errors === 0 && row.achievedRps >= 0.95 * row.offeredRps && (row.overheadP99 ?? Infinity) <= 10
  const best: Record<string, number> = Object.fromEntries(servers.map((server) => [server.target.name, 0]))
  let remaining = [...servers]
  for (const rps of settings.maxRates) {
    if (remaining.length === 0) break
    const seconds = Math.max(settings.maxSeconds, minimumRequests / rps)
    const [direct, directMeasured] = await plain(upstream.target, upstream.child, rps, seconds)
    rows.push(plainRow(scenario, "direct", direct, undefined, directMeasured))
    for (const server of remaining) {
      const [run, measured] = await plain(targetOf(server), server.child, rps, seconds)
      const row = plainRow(scenario, server.target.name, run, direct, measured)
      rows.push(row)
      if (sustained(row)) best[server.target.name] = rps
      else remaining = remaining.filter((s) => s !== server)
    }
  }
  return best
}

/** Stops whatever was started when the run is interrupted (Ctrl-C, a timeout). */
const onSignal = (stopAll: () => Promise<void>) => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping the servers`)
      void stopAll().finally(() => process.exit(130))
    })
  }
}

const resultsFile = (prefix: string, extension: string) =>
  new URL(`./results/${prefix}-${new Date().toISOString().replace(/[:.]/g, "-")}.${extension}`, import.meta.url)
    .pathname
const heapSamplesFile = resultsFile("heap", "jsonl")
const allocationProfileFile = resultsFile("allocations", "heapprofile")

const main = async () => {
  if (flags.heap || flags.allocations) mkdirSync(new URL("./results/", import.meta.url), { recursive: true })
  log(`settings: ${JSON.stringify({ ...settings, scenarios: [...settings.scenarios] })}`)
  const upstream = await startUpstream(settings)
  const started: Array<{ close: () => Promise<void> }> = [{ close: () => upstream.child.stop() }]
  const stopAll = async () => {
    for (const server of started.splice(0).reverse()) await server.close().catch((error: unknown) => log(String(error)))
  }
  onSignal(stopAll)
  try {
    const portkey = await startPortkey(upstream)
    started.push(portkey)
    log("portkey is up")
    const nodeOptions = settings.nodeOptions.split(" ").filter((option) => option !== "")
    const gatewayOptions = { users: settings.users, workers: settings.workers, nodeOptions }
    const lean = await startGateway(upstream, { ...gatewayOptions, name: "ours-memory-limits", redis: false })
    started.push(lean)
    log("our gateway (in-process rate limits) is up")
    const full = await startGateway(upstream, {
      ...gatewayOptions,
      name: "ours-full",
      redis: true,
      ...(flags.heap && { heapSamples: heapSamplesFile }),
      ...(flags.allocations && { allocationProfile: allocationProfileFile }),
      nodeOptions: [
        ...nodeOptions,
        ...(flags.profile
          ? ["--cpu-prof", `--cpu-prof-dir=${new URL("./results/profiles", import.meta.url).pathname}`]
          : [])
      ]
    })
    started.push(full)
    log("our gateway (full pipeline) is up")
    const before =
      flags.compare === undefined
        ? undefined
        : await startGateway(upstream, { ...gatewayOptions, name: "ours-before", redis: true, root: flags.compare })
    if (before !== undefined) started.push(before)
    const asyncCommit = flags["async-commit"]
      ? await startGateway(upstream, { ...gatewayOptions, name: "ours-async-commit", redis: true, asyncCommit: true })
      : undefined
    if (asyncCommit !== undefined) started.push(asyncCommit)
    const compared: Array<Server> = [before, asyncCommit].filter((server) => server !== undefined)
    /** Our full-pipeline gateways in the order they take their turns. */
    const ours = flags["compared-first"] ? [...compared, full] : [full, ...compared]
    for (const target of [upstream.target, portkey.target, lean.target, full.target, ...compared.map((s) => s.target)])
      await smoke(upstream, target)
    log("every target reaches the fake upstream")

    const rows: Array<Row> = []
    const maxSustained: Record<string, Record<string, number>> = {}
    if (settings.scenarios.has("plain")) {
      await plainScenarios(
        upstream,
        [
          ["pass-through", portkey],
          ["pass-through", lean],
          ...ours.map((server): [string, Server] => ["full", server])
        ],
        rows
      )
    }
    if (settings.scenarios.has("idle")) {
      // Requests far apart: what one request costs on a gateway with nothing else to do.
      const [direct, directMeasured] = await plain(upstream.target, upstream.child, settings.idleRps)
      rows.push(plainRow("idle", "direct", direct, undefined, directMeasured))
      for (const server of [portkey, ...ours]) {
        const [run, measured] = await plain(server.target, server.child, settings.idleRps)
        rows.push(plainRow("idle", server.target.name, run, direct, measured))
      }
    }
    const maxServers = [portkey, ...ours]
    if (settings.scenarios.has("max")) {
      maxSustained[`${settings.users} accounts`] = await maxThroughput(
        upstream,
        maxServers,
        rows,
        "max",
        (s) => s.target
      )
    }
    if (settings.scenarios.has("max1")) {
      // Every request from one user: one account's ledger row and one rate-limit key take it all.
      maxSustained["one account"] = await maxThroughput(upstream, maxServers, rows, "max-1-account", (s) => ({
        ...s.target,
        headers: () => s.target.headers(0)
      }))
    }
    if (settings.scenarios.has("stream")) {
      const [direct, directMeasured] = await streams(upstream.target, upstream.child)
      rows.push(streamRow("stream", "direct", direct, undefined, settings.chunks, directMeasured))
      for (const server of [portkey, ...ours]) {
        const [run, measured] = await streams(server.target, server.child)
        rows.push(streamRow("stream", server.target.name, run, direct, settings.chunks, measured))
      }
    }
    const soakResult =
      settings.scenarios.has("soak") && settings.soakSeconds > 0 ? await soak(full, settings) : undefined

    console.log(`\n${table(rows)}\n`)
    console.log(`Highest sustained rate (p99 overhead ≤ 10 ms, ≥ 95% done, no errors): ${JSON.stringify(maxSustained)}`)
    console.log(
      `\n${targetsTable(
        rows,
        maxSustained,
        [full, ...compared].map((s) => s.target.name),
        Math.min(...settings.maxRates)
      )}\n`
    )
    if (soakResult !== undefined) console.log(`Soak: ${JSON.stringify(soakResult.summary)}`)
    const file = writeResults({
      date: new Date().toISOString(),
      machine: machine(),
      settings: { ...settings, scenarios: [...settings.scenarios] },
      rows,
      maxSustained,
      soak: soakResult
    })
    console.log(`Results: ${file}`)
    if (flags.heap) console.log(`Heap samples of ours-full: ${heapSamplesFile}`)
    if (flags.allocations) console.log(`Allocations of ours-full: ${allocationProfileFile}`)
  } finally {
    await stopAll()
  }
}

await main()
