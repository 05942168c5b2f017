/**
 * Where the machine's CPU went during a run, in cores: the server under test, everything
 * the benchmark started (itself included: the load generator), PostgreSQL and Redis, and
 * the rest ("foreign": whatever else runs on the machine, which skews the figures).
 */
import { readdirSync, readFileSync } from "node:fs"
import { hostCpuTicks, treeCpuTicks } from "./processes.ts"

const ticksPerSecond = 100

const servicePids = (): Array<number> =>
  readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return /^(postgres|redis-server)$/.test(readFileSync(`/proc/${pid}/comm`, "utf8").trim())
      } catch {
        return false
      }
    })
    .map(Number)

const servicesTicks = () => servicePids().reduce((sum, pid) => sum + treeCpuTicks(pid), 0)

export interface CpuUse {
  /** The server under test. */
  readonly server: number
  /** The benchmark's own processes (load generator, fake upstream, idle servers), the server excluded. */
  readonly bench: number
  readonly services: number
  readonly foreign: number
}

export const cpuMeter = (serverPid: number | undefined) => {
  const started = {
    at: performance.now(),
    host: hostCpuTicks(),
    server: serverPid === undefined ? 0 : treeCpuTicks(serverPid),
    bench: treeCpuTicks(process.pid),
    services: servicesTicks()
  }
  return (): CpuUse => {
    const seconds = (performance.now() - started.at) / 1000
    const cores = (ticks: number) => Math.round((ticks / ticksPerSecond / seconds) * 100) / 100
    const host = hostCpuTicks().busy - started.host.busy
    const server = (serverPid === undefined ? 0 : treeCpuTicks(serverPid)) - started.server
    const bench = treeCpuTicks(process.pid) - started.bench
    const services = servicesTicks() - started.services
    return {
      server: cores(server),
      bench: cores(bench - server),
      services: cores(services),
      foreign: cores(Math.max(0, host - bench - services))
    }
  }
}
