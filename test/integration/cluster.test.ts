/**
 * WEB_CONCURRENCY > 1 runs the real entry point as a node:cluster: workers share the
 * port, a worker that dies is replaced, and SIGTERM stops them all with exit 0.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FreshDatabase, freshDatabase } from "../support/database.ts"
import { testJwtSecret } from "../support/gateway.ts"
import { freePort, until } from "../support/ports.ts"
import { postgresAvailable } from "../support/services.ts"

const workersOf = (pid: number): Array<number> =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number)

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
        JWT_SECRET: testJwtSecret,
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
      "the workers to be ready",
      20_000
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
    await until(
      () => {
        const now = workersOf(primary.pid!)
        return now.length === 2 && !now.includes(workers[0]!)
      },
      "a replacement worker",
      20_000
    )
    await until(
      () =>
        fetch(`${url}/live`).then(
          (r) => r.ok,
          () => false
        ),
      "the port to answer",
      20_000
    )
    const answers = await Promise.all(Array.from({ length: 10 }, () => fetch(`${url}/live`).then((r) => r.status)))
    expect(answers.every((status) => status === 200)).toBe(true)

    const exited = new Promise<number | null>((resolve) => primary.once("exit", (code) => resolve(code)))
    primary.kill("SIGTERM")
    expect(await exited).toBe(0)
  })
})
