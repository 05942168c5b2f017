/**
 * SIGTERM or SIGINT at any moment of start-up ends the process with exit 0 (orchestrators stop pods that have not
 * started yet too), the embedded database included: while the modules load, while PGlite initialises, while the
 * migrations run. A stop used to hang there for good, at ~500 MB, until killed.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { testJwtSecret } from "../support/gateway.ts"
import { freePort, until } from "../support/ports.ts"

const started: Array<{ child: ChildProcess; dataDir: string }> = []
afterEach(() => {
  for (const { child, dataDir } of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    rmSync(dataDir, { recursive: true, force: true })
  }
})

/** The gateway on an embedded database of its own, with its output collected. */
const startEmbedded = async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "gateway-startup-"))
  const child = spawn(process.execPath, ["src/main.ts"], {
    env: {
      PATH: process.env["PATH"],
      PORT: String(await freePort()),
      HOST: "127.0.0.1",
      JWT_SECRET: testJwtSecret,
      LOG_LEVEL: "info",
      DATA_DIR: dataDir
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  started.push({ child, dataDir })
  const output = { text: "" }
  child.stdout!.on("data", (data) => (output.text += data))
  child.stderr!.on("data", (data) => (output.text += data))
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal }))
  )
  return { child, output, exit }
}

describe("a stop during start-up", () => {
  it("while the modules load: exit 0", async () => {
    const gateway = await startEmbedded()
    // Past Node's own bootstrap (a signal before any JavaScript runs kills any program), early in the loading.
    await new Promise((resolve) => setTimeout(resolve, 1000))
    gateway.child.kill("SIGTERM")
    expect(await gateway.exit).toEqual({ code: 0, signal: null })
    expect(gateway.output.text).not.toContain("Listening on")
  }, 60_000)

  it("while the embedded database initialises: exit 0", async () => {
    const gateway = await startEmbedded()
    // The registry is built just before the database (layers start together); PGlite is initialising.
    await until(() => gateway.output.text.includes("Simulated models"), "the registry", 50_000)
    gateway.child.kill("SIGTERM")
    expect(await gateway.exit).toEqual({ code: 0, signal: null })
    expect(gateway.output.text).not.toContain("Listening on")
  }, 60_000)

  it("while the migrations run, by Ctrl-C: exit 0", async () => {
    const gateway = await startEmbedded()
    await until(() => gateway.output.text.includes("using embedded PostgreSQL"), "the embedded database", 50_000)
    gateway.child.kill("SIGINT")
    expect(await gateway.exit).toEqual({ code: 0, signal: null })
  }, 60_000)
})
