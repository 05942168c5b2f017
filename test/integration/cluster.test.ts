/**
 * WEB_CONCURRENCY > 1 runs the real entry point as a node:cluster: workers share the
 * port, a worker that dies is replaced, and SIGTERM stops them all with exit 0.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { createServer } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FreshDatabase, freshDatabase } from "../support/database.ts"
import { postgresAvailable } from "../support/services.ts"

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

const workersOf = (pid: number): Array<number> =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number)

const until = async (condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await condition()) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe.runIf(postgresAvailable && process.platform === "linux")("WEB_CONCURRENCY=2", () => {
  let database: FreshDatabase
  let primary: ChildProcess
  let url: string

  beforeAll(async () => {
    database = await freshDatabase("cluster")
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    primary = spawn(process.execPath, ["src/main.ts"], {
      env: {
        PATH: process.env["PATH"],
        PORT: String(port),
        HOST: "127.0.0.1",
        LOG_LEVEL: "error",
        DATABASE_URL: database.url,
        WEB_CONCURRENCY: "2"
      },
      stdio: "ignore"
    })
    await until(
      () =>
        fetch(`${url}/ready`).then(
          (r) => r.ok,
          () => false
        ),
      "the workers to be ready"
    )
  })

  afterAll(async () => {
    if (primary.exitCode === null) primary.kill("SIGKILL")
    await database?.drop()
  })

  it("serves from two workers, replaces one that dies, and stops cleanly on SIGTERM", async () => {
    const workers = workersOf(primary.pid!)
    expect(workers).toHaveLength(2)

    process.kill(workers[0]!, "SIGKILL")
    await until(() => {
      const now = workersOf(primary.pid!)
      return now.length === 2 && !now.includes(workers[0]!)
    }, "a replacement worker")
    await until(
      () =>
        fetch(`${url}/live`).then(
          (r) => r.ok,
          () => false
        ),
      "the port to answer"
    )
    const answers = await Promise.all(Array.from({ length: 10 }, () => fetch(`${url}/live`).then((r) => r.status)))
    expect(answers.every((status) => status === 200)).toBe(true)

    const exited = new Promise<number | null>((resolve) => primary.once("exit", (code) => resolve(code)))
    primary.kill("SIGTERM")
    expect(await exited).toBe(0)
  })
})
