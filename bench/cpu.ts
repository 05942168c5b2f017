/**
 * Where the machine's CPU went during a run, in cores: the server under test, everything
 * the benchmark started (itself included: the load generator), PostgreSQL, Redis, and
 * the rest ("foreign": whatever else runs on the machine, which skews the figures).
 */
import { readdirSync, readFileSync } from "node:fs"
import { hostCpuTicks, treeCpuTicks } from "./processes.ts"

const ticksPerSecond = 100

const pidsNamed = (pattern: RegExp): Array<number> =>
  readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return pattern.test(readFileSync(`/proc/${pid}/comm`, "utf8").trim())
      } catch {
        return false
      }
    })
    .map(Number)

/** PostgreSQL's backends are children of its postmaster, so each process is counted once, on its own. */
const ownTicks = (pids: ReadonlyArray<number>) =>
  pids.reduce((sum, pid) => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
      return sum + Number(fields[11]) + Number(fields[12])
    } catch {
      return sum
    }
  }, 0)

const postgresTicks = () => ownTicks(pidsNamed(/^postgres$/))
const redisTicks = () => ownTicks(pidsNamed(/^redis-server$/))

export interface CpuUse {
  /** The server under test. */
  readonly server: number
  /** The benchmark's own processes (load generator, fake upstream, idle servers), the server excluded. */
  readonly bench: number
  readonly postgres: number
  readonly redis: number
  readonly foreign: number
}

export const cpuMeter = (serverPid: number | undefined) => {
  const started = {
    at: performance.now(),
    host: hostCpuTicks(),
    server: serverPid === undefined ? 0 : treeCpuTicks(serverPid),
    bench: treeCpuTicks(process.pid),
    postgres: postgresTicks(),
    redis: redisTicks()
  }
  return (): CpuUse => {
    const seconds = (performance.now() - started.at) / 1000
    const cores = (ticks: number) => Math.round((ticks / ticksPerSecond / seconds) * 100) / 100
    const host = hostCpuTicks().busy - started.host.busy
    const server = (serverPid === undefined ? 0 : treeCpuTicks(serverPid)) - started.server
    const bench = treeCpuTicks(process.pid) - started.bench
    const postgres = postgresTicks() - started.postgres
    const redis = redisTicks() - started.redis
    return {
      server: cores(server),
      bench: cores(bench - server),
      postgres: cores(postgres),
      redis: cores(redis),
      foreign: cores(Math.max(0, host - bench - postgres - redis))
    }
  }
}
