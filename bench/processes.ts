/**
 * The servers under test run as child processes: started, waited for, measured (resident
 * memory of the process and its children, from /proc) and stopped.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"

export interface Child {
  readonly name: string
  readonly process: ChildProcess
  /** Resident memory in bytes of the process and its descendants (cluster workers). */
  readonly rss: () => number
  /** The last lines it wrote, for error messages. */
  readonly output: () => string
  readonly stop: () => Promise<void>
}

const rssOf = (pid: number): number => {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return match === null ? 0 : Number(match[1]) * 1024
  } catch {
    return 0
  }
}

const childrenOf = (pid: number): Array<number> => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

export const treeRss = (pid: number): number => rssOf(pid) + childrenOf(pid).reduce((sum, c) => sum + treeRss(c), 0)

/** CPU time (user + system, in clock ticks) of a process and its descendants. */
export const treeCpuTicks = (pid: number): number => {
  let own = 0
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    own = Number(fields[11]) + Number(fields[12])
  } catch {
    own = 0
  }
  return own + childrenOf(pid).reduce((sum, c) => sum + treeCpuTicks(c), 0)
}

/** Busy and total clock ticks of the whole machine, from /proc/stat. */
export const hostCpuTicks = (): { readonly busy: number; readonly total: number } => {
  const values = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number)
  const total = values.reduce((a, b) => a + b, 0)
  const idle = (values[3] ?? 0) + (values[4] ?? 0)
  return { busy: total - idle, total }
}

export const startChild = (
  name: string,
  args: ReadonlyArray<string>,
  options: {
    readonly env?: NodeJS.ProcessEnv
    readonly nodeOptions?: ReadonlyArray<string>
    readonly cwd?: string
  } = {}
): Child => {
  const child = spawn(process.execPath, [...(options.nodeOptions ?? []), ...args], {
    env: options.env ?? process.env,
    cwd: options.cwd ?? process.cwd(),
    stdio: ["ignore", "pipe", "pipe"]
  })
  const lines: Array<string> = []
  const keep = (data: Buffer) => {
    for (const line of data.toString("utf8").split("\n")) if (line.trim() !== "") lines.push(line)
    if (lines.length > 200) lines.splice(0, lines.length - 200)
  }
  child.stdout!.on("data", keep)
  child.stderr!.on("data", keep)
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  return {
    name,
    process: child,
    rss: () => (child.pid === undefined || child.exitCode !== null ? 0 : treeRss(child.pid)),
    output: () => lines.slice(-30).join("\n"),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill("SIGTERM")
      const killed = setTimeout(() => child.kill("SIGKILL"), 10_000)
      await exited
      clearTimeout(killed)
    }
  }
}

/** Resolves with the first match of `pattern` in the child's stdout; fails if it exits first or takes too long. */
export const waitForLine = (child: Child, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> =>
  new Promise((resolve, reject) => {
    let buffer = ""
    const onData = (data: Buffer) => {
      buffer += data.toString("utf8")
      const match = pattern.exec(buffer)
      if (match !== null) finish(() => resolve(match))
    }
    const onExit = () => finish(() => reject(new Error(`${child.name} exited before it was ready:\n${child.output()}`)))
    const timer = setTimeout(
      () => finish(() => reject(new Error(`${child.name} was not ready within ${timeoutMs} ms:\n${child.output()}`))),
      timeoutMs
    )
    const finish = (settle: () => void) => {
      clearTimeout(timer)
      child.process.stdout!.off("data", onData)
      child.process.off("exit", onExit)
      settle()
    }
    child.process.stdout!.on("data", onData)
    child.process.once("exit", onExit)
  })

/** Polls `url` until it answers `expected`; fails if the child exits first or it takes too long. */
export const waitForHttp = async (child: Child, url: string, expected = 200, timeoutMs = 60_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited before it was ready:\n${child.output()}`)
    const status = await fetch(url).then(
      (response) => response.arrayBuffer().then(() => response.status),
      () => 0
    )
    if (status === expected) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`${child.name} did not answer ${url} within ${timeoutMs} ms:\n${child.output()}`)
}
