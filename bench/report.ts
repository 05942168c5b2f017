/** Rows of the results table: printed, and written with the run's settings to bench/results/*.json. */
import { mkdirSync, writeFileSync } from "node:fs"
import { cpus, totalmem } from "node:os"
import type { CpuUse } from "./cpu.ts"
import type { PlainRun, StreamRun } from "./load.ts"
import { round } from "./stats.ts"

/** What was measured around a run besides latency. */
export interface Measured {
  readonly rssBytes: number
  readonly cpu: CpuUse
}

export interface Row {
  readonly scenario: string
  readonly target: string
  readonly offeredRps: number
  readonly achievedRps: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  /** Our latency minus the upstream's called directly at the same rate; undefined for the direct row. */
  readonly overheadP50?: number | undefined
  readonly overheadP99?: number | undefined
  readonly ttftP50?: number | undefined
  readonly ttftP99?: number | undefined
  readonly ttftOverheadP50?: number | undefined
  readonly ttftOverheadP99?: number | undefined
  /** (total − TTFT) overhead divided by the chunks after the first: what each chunk costs. */
  readonly perChunkOverhead?: number | undefined
  /** Peak resident memory of the server during the run (all its processes), MB. */
  readonly rssMb: number
  /** CPU cores used by the server under test, and by processes foreign to the benchmark (noise). */
  readonly cpuServer: number
  readonly cpuForeign: number
  readonly cpu: CpuUse
  readonly errors: number
  readonly note?: string | undefined
}

const mb = (bytes: number) => round(bytes / 1024 / 1024, 1)

export const plainRow = (
  scenario: string,
  target: string,
  run: PlainRun,
  direct: PlainRun | undefined,
  measured: Measured
): Row => {
  const latency = run.latency.summary()
  const base = direct?.latency.summary()
  return {
    scenario,
    target,
    offeredRps: run.offeredRps,
    achievedRps: round(run.achievedRps, 0),
    p50: round(latency.p50),
    p90: round(latency.p90),
    p99: round(latency.p99),
    overheadP50: base === undefined ? undefined : round(latency.p50 - base.p50),
    overheadP99: base === undefined ? undefined : round(latency.p99 - base.p99),
    rssMb: mb(measured.rssBytes),
    cpuServer: measured.cpu.server,
    cpuForeign: measured.cpu.foreign,
    cpu: measured.cpu,
    errors: run.errors
  }
}

export const streamRow = (
  scenario: string,
  target: string,
  run: StreamRun,
  direct: StreamRun | undefined,
  chunks: number,
  measured: Measured
): Row => {
  const total = run.total.summary()
  const ttft = run.ttft.summary()
  const base = direct === undefined ? undefined : { total: direct.total.summary(), ttft: direct.ttft.summary() }
  return {
    scenario,
    target,
    offeredRps: run.offeredRps,
    achievedRps: round(run.achievedRps, 0),
    p50: round(total.p50),
    p90: round(total.p90),
    p99: round(total.p99),
    overheadP50: base === undefined ? undefined : round(total.p50 - base.total.p50),
    overheadP99: base === undefined ? undefined : round(total.p99 - base.total.p99),
    ttftP50: round(ttft.p50),
    ttftP99: round(ttft.p99),
    ttftOverheadP50: base === undefined ? undefined : round(ttft.p50 - base.ttft.p50),
    ttftOverheadP99: base === undefined ? undefined : round(ttft.p99 - base.ttft.p99),
    perChunkOverhead:
      base === undefined || chunks < 2
        ? undefined
        : round((total.p50 - ttft.p50 - (base.total.p50 - base.ttft.p50)) / (chunks - 1), 3),
    rssMb: mb(measured.rssBytes),
    cpuServer: measured.cpu.server,
    cpuForeign: measured.cpu.foreign,
    cpu: measured.cpu,
    errors: run.errors,
    note: run.firstError
  }
}

const columns: ReadonlyArray<[string, (row: Row) => string | number | undefined]> = [
  ["scenario", (r) => r.scenario],
  ["target", (r) => r.target],
  ["rps offered", (r) => r.offeredRps],
  ["rps done", (r) => r.achievedRps],
  ["p50 ms", (r) => r.p50],
  ["p90 ms", (r) => r.p90],
  ["p99 ms", (r) => r.p99],
  ["ovh p50", (r) => r.overheadP50],
  ["ovh p99", (r) => r.overheadP99],
  ["ttft p50", (r) => r.ttftP50],
  ["ttft p99", (r) => r.ttftP99],
  ["ttft ovh p50", (r) => r.ttftOverheadP50],
  ["ttft ovh p99", (r) => r.ttftOverheadP99],
  ["ovh/chunk", (r) => r.perChunkOverhead],
  ["rss MB", (r) => r.rssMb],
  ["cpu srv", (r) => r.cpuServer],
  ["cpu ms/req", (r) => (r.achievedRps > 0 ? round((r.cpuServer * 1000) / r.achievedRps, 2) : undefined)],
  ["cpu pg+redis", (r) => round(r.cpu.postgres + r.cpu.redis)],
  ["cpu other", (r) => r.cpuForeign],
  ["errors", (r) => r.errors]
]

/** A Markdown table, so the printed output can be pasted into BENCHMARKS.md as it is. */
export const table = (rows: ReadonlyArray<Row>): string => {
  const used = columns.filter(([, get]) => rows.some((row) => get(row) !== undefined))
  const cells = rows.map((row) => used.map(([, get]) => String(get(row) ?? "")))
  const widths = used.map(([name], i) => Math.max(name.length, ...cells.map((line) => line[i]!.length)))
  const line = (values: ReadonlyArray<string>) => `| ${values.map((v, i) => v.padEnd(widths[i]!)).join(" | ")} |`
  return [line(used.map(([name]) => name)), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n")
}

export const machine = () => ({
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? "unknown",
  memoryGb: round(totalmem() / 1024 ** 3, 1),
  node: process.version,
  platform: `${process.platform} ${process.arch}`
})

export const writeResults = (results: object): string => {
  const directory = new URL("./results/", import.meta.url)
  mkdirSync(directory, { recursive: true })
  const file = new URL(`./${new Date().toISOString().replace(/[:.]/g, "-")}.json`, directory)
  writeFileSync(file, JSON.stringify(results, null, 2) + "\n")
  return file.pathname
}

/**
 * Issue 12's table of targets, one column per gateway: each figure taken from the rows of this
 * run (Portkey's too, so that every ratio compares a run of the same minutes on the same machine).
 */
export const targetsTable = (
  rows: ReadonlyArray<Row>,
  maxSustained: Readonly<Record<string, Readonly<Record<string, number>>>>,
  ours: ReadonlyArray<string>,
  /** The lowest rate the search for the highest sustained one tried. */
  lowestTried: number
): string => {
  const gateways = ["portkey", ...ours]
  const find = (scenario: string, target: string, rps?: number) =>
    rows.find((r) => r.scenario === scenario && r.target === target && (rps === undefined || r.offeredRps === rps))
  const pair = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? "" : `${a} / ${b}`
  const cpuPerRequest = (row: Row | undefined) =>
    row === undefined || row.achievedRps === 0 ? "" : String(round((row.cpuServer * 1000) / row.achievedRps, 2))
  const sustained = (accounts: string) => (target: string) => {
    const best = maxSustained[accounts]?.[target]
    if (best === undefined) return ""
    if (best === 0) return `below ${lowestTried}/s`
    const portkey = maxSustained[accounts]?.["portkey"]
    return target === "portkey" || portkey === undefined || portkey === 0
      ? `${best}/s`
      : `${best}/s (${round(best / portkey, 2)}×)`
  }
  const accountsKeys = Object.keys(maxSustained)
  const lines: ReadonlyArray<[string, string, (target: string) => string]> = [
    ...accountsKeys.map((accounts): [string, string, (target: string) => string] => [
      `highest sustained rate, p99 overhead ≤ 10 ms — ${accounts}`,
      "≥ 2× Portkey's",
      sustained(accounts)
    ]),
    [
      "overhead at 500/s, p50 / p99 ms",
      "≤ 2 / ≤ 8",
      (t) => {
        const row = find(t === "portkey" ? "pass-through" : "full", t, 500)
        return pair(row?.overheadP50, row?.overheadP99)
      }
    ],
    ["overhead of one request, idle gateway, p50 ms", "≤ 2", (t) => String(find("idle", t)?.overheadP50 ?? "")],
    [
      "stream TTFT overhead, p50 / p99 ms",
      "≤ 2 / ≤ 6",
      (t) => {
        const row = find("stream", t)
        return pair(row?.ttftOverheadP50, row?.ttftOverheadP99)
      }
    ],
    [
      "gateway CPU per plain request at 1,000/s, ms",
      "≤ 0.4",
      (t) => cpuPerRequest(find(t === "portkey" ? "pass-through" : "full", t, 1000))
    ],
    ["CPU per 20-chunk stream, ms", "≤ 2.5", (t) => cpuPerRequest(find("stream", t))],
    [
      "RSS under load at 1,000/s, MB",
      "≤ 200",
      (t) => String(find(t === "portkey" ? "pass-through" : "full", t, 1000)?.rssMb ?? "")
    ]
  ]
  const header = ["", ...gateways, "target"]
  const cells = lines.map(([label, goal, get]) => [label, ...gateways.map(get), goal])
  const widths = header.map((name, i) => Math.max(name.length, ...cells.map((line) => line[i]!.length)))
  const line = (values: ReadonlyArray<string>) => `| ${values.map((v, i) => v.padEnd(widths[i]!)).join(" | ")} |`
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n")
}
