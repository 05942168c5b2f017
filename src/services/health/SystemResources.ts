/**
 * CPU, memory and disk use and the number of network connections, read from the OS without
 * waiting: CPU use is measured between two calls (the first against start-up), the
 * connections are the sockets listed in /proc/net (0 where there is none).
 */
import * as Effect from "effect/Effect"
import { readFile, statfs } from "node:fs/promises"
import { cpus, freemem, totalmem } from "node:os"

export interface Resources {
  readonly cpu_usage_percent: number
  readonly memory_usage_percent: number
  readonly disk_usage_percent: number
  readonly network_connections: number
}

const round1 = (percent: number) => Math.round(percent * 10) / 10

const cpuTimes = () => {
  let busy = 0
  let total = 0
  for (const cpu of cpus()) {
    const { user, nice, sys, irq, idle } = cpu.times
    busy += user + nice + sys + irq
    total += user + nice + sys + irq + idle
  }
  return { busy, total }
}

const socketTables = ["/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp", "/proc/net/udp6"]

/** Lines of each table, less its header. */
const countSockets = async (): Promise<number> => {
  let count = 0
  for (const table of socketTables) {
    const text = await readFile(table, "utf8").catch(() => "")
    const lines = text.split("\n").filter((line) => line.trim() !== "").length
    count += Math.max(0, lines - 1)
  }
  return count
}

/** A reader of the machine's resources; `path` is on the disk whose use is reported. */
export const makeResourceReader = (path: string) => {
  let previous = cpuTimes()
  let lastCpuPercent = 0

  const cpuPercent = () => {
    const current = cpuTimes()
    const total = current.total - previous.total
    // Too short an interval says nothing: keep the last figure.
    if (total > 100) {
      lastCpuPercent = ((current.busy - previous.busy) / total) * 100
      previous = current
    }
    return lastCpuPercent
  }

  const diskPercent = async () => {
    const stats = await statfs(path)
    const used = (stats.blocks - stats.bfree) * stats.bsize
    const available = stats.bavail * stats.bsize
    return used + available === 0 ? 0 : (used / (used + available)) * 100
  }

  return Effect.promise(async (): Promise<Resources> => {
    const [disk, connections] = await Promise.all([diskPercent().catch(() => 0), countSockets()])
    return {
      cpu_usage_percent: round1(cpuPercent()),
      memory_usage_percent: round1(((totalmem() - freemem()) / totalmem()) * 100),
      disk_usage_percent: round1(disk),
      network_connections: connections
    }
  })
}
