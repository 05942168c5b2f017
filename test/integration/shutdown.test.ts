import { spawn } from "node:child_process"
import { once } from "node:events"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freshDatabase, type FreshDatabase } from "../support/database.ts"
import { authHeaders, testJwtSecret } from "../support/gateway.ts"
import { freePort, until } from "../support/ports.ts"
import { postgresAvailable } from "../support/services.ts"

let database: FreshDatabase | undefined
beforeAll(async () => {
  if (postgresAvailable) database = await freshDatabase("shutdown")
})
afterAll(() => database?.drop())

describe("graceful shutdown", () => {
  it("on SIGTERM lets an in-flight stream finish, refuses new connections, and exits 0", async () => {
    const port = await freePort()
    const child = spawn(process.execPath, ["src/main.ts"], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: "127.0.0.1",
        JWT_SECRET: testJwtSecret,
        LOG_LEVEL: "info",
        SIMULATOR_CHUNK_DELAY_MS: "100",
        SHUTDOWN_TIMEOUT_SECONDS: "10",
        ...(database ? { DATABASE_URL: database.url } : { DATA_DIR: `.data/test-shutdown-${port}` })
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (data) => (output += data))
    child.stderr.on("data", (data) => (output += data))
    const url = `http://127.0.0.1:${port}`
    await until(() => output.includes("Listening on"), "the gateway to listen")

    const response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: await authHeaders(),
      body: JSON.stringify({
        model: "gpt-4",
        messages: [{ role: "user", content: "hi" }],
        stream: true,
        max_tokens: 12
      })
    })
    const body = response.text()
    await new Promise((resolve) => setTimeout(resolve, 300))
    const exited = once(child, "exit")
    child.kill("SIGTERM")
    await new Promise((resolve) => setTimeout(resolve, 200))
    await expect(fetch(`${url}/live`)).rejects.toThrow()

    const text = await body
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true)
    expect(text.split("\n\n").filter((event) => event.includes('"content":')).length).toBeGreaterThanOrEqual(12)
    const [code] = await exited
    expect(code).toBe(0)
    expect(output).toContain("Shutting down")
  }, 30_000)
})
