/**
 * WEB_CONCURRENCY > 1 runs the real entry point as a node:cluster: workers share the port, /metrics answers for
 * every worker whichever one a scrape reaches, a worker that dies is replaced, and SIGTERM stops them all with
 * exit 0. Several workers on the embedded database are refused at start-up.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FreshDatabase, freshDatabase } from "../support/database.ts"
import { authHeaders, processEnv, testJwtSecret } from "../support/gateway.ts"
import { freePort, until } from "../support/ports.ts"
import { sample } from "../support/prometheus.ts"
import { postgresAvailable } from "../support/services.ts"

const workersOf = (pid: number): Array<number> =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number)

const listeningLines = (output: string) => output.split("\n").filter((line) => line.includes("Listening on")).length

describe.runIf(postgresAvailable && process.platform === "linux")("WEB_CONCURRENCY=2", () => {
  let database: FreshDatabase
  let primary: ChildProcess
  let url: string
  const output = { text: "" }

  beforeAll(async () => {
    database = await freshDatabase("cluster")
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    primary = spawn(process.execPath, ["src/main.ts"], {
      env: processEnv(port, { DATABASE_URL: database.url, WEB_CONCURRENCY: "2" }),
      stdio: ["ignore", "pipe", "pipe"]
    })
    primary.stdout!.on("data", (data) => (output.text += data))
    primary.stderr!.on("data", (data) => (output.text += data))
    // Both workers, not just the first: a worker stopped before it listens stops the whole gateway.
    await until(() => listeningLines(output.text) >= 2, "both workers to listen", 30_000)
  })

  afterAll(async () => {
    if (primary.exitCode === null) primary.kill("SIGKILL")
    await database?.drop()
  })

  it("answers /metrics for both workers: every request counted, counters never going backwards", async () => {
    const headers = await authHeaders("cluster-user")
    // Separate connections, so that the primary hands them to both workers in turn.
    const calls = 12
    for (let i = 0; i < calls; i++) {
      const response = await fetch(`${url}/v1/models`, { headers: { ...headers, connection: "close" } })
      expect(response.status).toBe(200)
    }
    const chat = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json", connection: "close" },
      body: JSON.stringify({ model: "gpt-4", messages: [{ role: "user", content: "hi" }], max_tokens: 5 })
    })
    expect(chat.status).toBe(200)
    await chat.text()

    const counted: Array<number> = []
    for (let scrape = 0; scrape < 4; scrape++) {
      const response = await fetch(`${url}/metrics`, { headers: { connection: "close" } })
      expect(response.status).toBe(200)
      const text = await response.text()
      counted.push(sample(text, "http_requests_total", { route: "/v1/models", method: "GET", status: "200" }) ?? 0)
      expect(text).toMatch(/^user_balance\{user_id="cluster-user"\} \d/m)
      expect(sample(text, "llm_requests_total", { model: "gpt-4", status: "success" })).toBe(1)
    }
    expect(counted).toEqual([calls, calls, calls, calls])
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
    await until(() => listeningLines(output.text) >= 3, "the replacement to listen", 30_000)
    const answers = await Promise.all(Array.from({ length: 10 }, () => fetch(`${url}/live`).then((r) => r.status)))
    expect(answers.every((status) => status === 200)).toBe(true)

    const exited = new Promise<number | null>((resolve) => primary.once("exit", (code) => resolve(code)))
    primary.kill("SIGTERM")
    expect(await exited).toBe(0)
  })
})

describe.runIf(process.platform === "linux")("WEB_CONCURRENCY=2 on the embedded database", () => {
  it("is refused at start-up with a message that says what to do", async () => {
    const child = spawn(process.execPath, ["src/main.ts"], {
      env: {
        PATH: process.env["PATH"],
        WEB_CONCURRENCY: "2",
        PORT: String(await freePort()),
        JWT_SECRET: testJwtSecret
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout!.on("data", (data) => (output += data))
    child.stderr!.on("data", (data) => (output += data))
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve))
    expect(code).toBe(1)
    expect(output).toContain("Refusing to start.")
    expect(output).toContain("WEB_CONCURRENCY: the embedded database (no DATABASE_URL) serves one process only")
    expect(output).not.toContain("ErrnoError")
  }, 30_000)
})
