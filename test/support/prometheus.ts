/**
 * Reading the Prometheus text format in tests, `promtool check metrics`, and a real
 * Prometheus server (Debian's `prometheus` package) that scrapes a gateway. Without the
 * binaries their tests are skipped with a notice; CI (REQUIRE_SERVICES=1) installs them and
 * a missing one fails the run.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "./ports.ts"

const hasBinary = (name: string): boolean => {
  try {
    execFileSync(name, ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}

const required = process.env["REQUIRE_SERVICES"] === "1"

const availability = (name: string): boolean => {
  const ok = hasBinary(name)
  if (!ok && required) throw new Error(`${name} is required (REQUIRE_SERVICES=1) but is not installed`)
  if (!ok) console.warn(`[tests] ${name} is not installed (Debian package prometheus): its tests are skipped`)
  return ok
}

export const promtoolAvailable = availability("promtool")
export const prometheusAvailable = availability("prometheus")

/** The value of one sample, its labels given exactly (all of them, any order); undefined when absent. */
export const sample = (text: string, name: string, labels: Record<string, string> = {}): number | undefined => {
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .sort()
    .join(",")
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null || match[1] !== name) continue
    const found = (match[2] ?? "")
      .split(/,(?=[a-zA-Z_]+=")/)
      .filter((pair) => pair !== "")
      .sort()
      .join(",")
    if (found === wanted) return Number(match[3])
  }
  return undefined
}

/** Every label value of `label` on the samples of `name`. */
export const labelValues = (text: string, name: string, label: string): Array<string> => {
  const values = new Set<string>()
  const pattern = new RegExp(`${label}="([^"]*)"`)
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name}_bucket{`)) continue
    const match = pattern.exec(line)
    if (match !== null) values.add(match[1]!)
  }
  return [...values]
}

/** `promtool check metrics`: its complaints, empty when the text is clean. */
export const promtoolProblems = (text: string): string => {
  try {
    execFileSync("promtool", ["check", "metrics"], { input: text, stdio: ["pipe", "pipe", "pipe"] })
    return ""
  } catch (error) {
    const failed = error as { stdout?: Buffer; stderr?: Buffer; message: string }
    return `${failed.stdout?.toString() ?? ""}${failed.stderr?.toString() ?? ""}` || failed.message
  }
}

export interface PrometheusServer {
  readonly url: string
  /** Runs an instant query; the vector it returns. */
  readonly query: (
    promql: string
  ) => Promise<Array<{ readonly metric: Record<string, string>; readonly value: [number, string] }>>
  readonly stop: () => Promise<void>
}

/** A Prometheus that scrapes `target` (host:port) every second, with its data in a temporary directory. */
export const startPrometheus = async (target: string): Promise<PrometheusServer> => {
  const directory = mkdtempSync(join(tmpdir(), "gateway-prometheus-"))
  const port = await freePort()
  writeFileSync(
    join(directory, "prometheus.yml"),
    [
      "global:",
      "  scrape_interval: 1s",
      "scrape_configs:",
      "  - job_name: llm-gateway",
      "    static_configs:",
      `      - targets: ["${target}"]`,
      ""
    ].join("\n")
  )
  const child: ChildProcess = spawn(
    "prometheus",
    [
      `--config.file=${join(directory, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(directory, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`
    ],
    { stdio: "ignore" }
  )
  const url = `http://127.0.0.1:${port}`
  const query = async (promql: string) => {
    const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`)
    const body = (await response.json()) as {
      data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> }
    }
    return body.data.result
  }
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve))
      child.kill("SIGTERM")
      await exited
    }
    rmSync(directory, { recursive: true, force: true })
  }
  return { url, query, stop }
}
