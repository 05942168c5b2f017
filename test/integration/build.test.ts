/**
 * What `npm start` and the image run is the build (`scripts/build.ts`), not the sources the rest of the suite
 * runs: built into a folder of its own, it starts, migrates a fresh database, answers a chat request and charges
 * it, serves the dashboard and reports the package's version (the files `src/ProjectFiles.ts` finds from the
 * build's folder), loads no TypeScript, stops with exit 0 on SIGTERM and exports its spans; with `npm start`'s
 * node flags, its entry point being the build's.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { readFileSync, rmSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FreshDatabase, freshDatabase } from "../support/database.ts"
import { authHeaders, processEnv } from "../support/gateway.ts"
import { freePort, until } from "../support/ports.ts"
import { type Receiver, startReceiver } from "../support/receiver.ts"
import { postgresAvailable } from "../support/services.ts"

const root = new URL("../../", import.meta.url)
const out = `dist-test-${process.pid}`
const packageJson = JSON.parse(readFileSync(new URL("package.json", root), "utf8"))
const packageVersion: string = packageJson.version
// `npm start`'s command, whose node flags the build runs with here, and whose entry point is checked below.
const start: Array<string> = packageJson.scripts.start.split(/\s+/)
const startFlags = start.filter((token) => token.startsWith("--") && !token.startsWith("--env-file"))

describe.runIf(postgresAvailable)("the build that npm start runs", () => {
  let database: FreshDatabase
  let gateway: ChildProcess
  let url: string
  let otlp: Receiver
  const output = { text: "" }

  beforeAll(async () => {
    execFileSync(process.execPath, ["scripts/build.ts", "--out", out], { cwd: root, stdio: "pipe" })
    database = await freshDatabase("build")
    otlp = await startReceiver()
    const port = await freePort()
    url = `http://127.0.0.1:${port}`
    // Every module the process loads, named on its standard error: the build's chunks, no TypeScript.
    const logLoads = `data:text/javascript,${encodeURIComponent(
      `import { registerHooks } from "node:module"
       registerHooks({ load(url, context, next) { process.stderr.write("loaded " + url + "\\n"); return next(url, context) } })`
    )}`
    gateway = spawn(process.execPath, [`--import=${logLoads}`, ...startFlags, `${out}/main.js`], {
      cwd: root,
      env: processEnv(port, { DATABASE_URL: database.url, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url }),
      stdio: ["ignore", "pipe", "pipe"]
    })
    gateway.stdout!.on("data", (data) => (output.text += data))
    gateway.stderr!.on("data", (data) => (output.text += data))
    await until(() => output.text.includes("Listening on"), "the built gateway to listen", 30_000)
  })

  afterAll(async () => {
    if (gateway !== undefined && gateway.exitCode === null) gateway.kill("SIGKILL")
    await database?.drop()
    await otlp?.close()
    rmSync(new URL(`${out}/`, root), { recursive: true, force: true })
  })

  it("answers and charges a chat request on a freshly migrated database", async () => {
    const headers = { ...(await authHeaders("build-user")), "content-type": "application/json" }
    const chat = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers,
      body: JSON.stringify({ model: "gpt-4", messages: [{ role: "user", content: "hi" }], max_tokens: 5 })
    })
    expect(chat.status).toBe(200)
    const body = (await chat.json()) as { choices: Array<{ message: { content: string } }> }
    expect(body.choices[0]!.message.content.length).toBeGreaterThan(0)
    const cost = chat.headers.get("x-request-cost")
    expect(Number(cost)).toBeGreaterThan(0)

    const transactions = await fetch(`${url}/billing/transactions`, { headers })
    expect(transactions.status).toBe(200)
    expect(JSON.stringify(await transactions.json())).toContain(cost)
  })

  it("serves the dashboard and reports the package's version", async () => {
    const dashboard = await fetch(`${url}/dashboard/`)
    expect(dashboard.status).toBe(200)
    expect(await dashboard.text()).toContain("<html")
    const health = (await (await fetch(`${url}/health`)).json()) as { version: string }
    expect(health.version).toBe(packageVersion)
  })

  it("is what npm start runs, after building it", () => {
    expect(start.at(-1)).toBe("dist/main.js")
    expect(packageJson.scripts.prestart).toBe("node scripts/build.ts")
  })

  it("loads the build's chunks and no TypeScript", () => {
    const loaded = output.text.split("\n").filter((line) => line.startsWith("loaded file:"))
    expect(loaded.some((line) => line.includes(`/${out}/main.js`))).toBe(true)
    expect(loaded.filter((line) => /\.ts$/.test(line))).toEqual([])
  })

  it("stops with exit 0 on SIGTERM", async () => {
    const exited = new Promise<number | null>((resolve) => gateway.once("exit", (code) => resolve(code)))
    gateway.kill("SIGTERM")
    expect(await exited).toBe(0)
  })

  it("exported its spans when it stopped, nested in one trace", () => {
    interface Span {
      readonly traceId: string
      readonly spanId: string
      readonly parentSpanId?: string
      readonly name: string
    }
    const spans: Array<Span> = otlp.received
      .filter((request) => request.path === "/v1/traces")
      .flatMap((request) =>
        JSON.parse(request.body.toString()).resourceSpans.flatMap(
          (resource: { scopeSpans: Array<{ spans: Array<Span> }> }) =>
            resource.scopeSpans.flatMap((scope) => scope.spans)
        )
      )
    const server = spans.find((span) => span.name === "POST /v1/chat/completions")
    expect(server).toBeDefined()
    const inside = spans.filter((span) => span.traceId === server!.traceId && span.parentSpanId === server!.spanId)
    expect(inside.map((span) => span.name)).toContain("ChatCompletions.complete")
  })
})
