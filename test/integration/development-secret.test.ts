/**
 * No constant secret: a development gateway started without JWT_SECRET generates one in DATA_DIR, `npm run token`
 * signs with the same, and a token signed with the constant the source once held is refused.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { SignJWT } from "jose"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freshDatabase, type FreshDatabase } from "../support/database.ts"
import { json } from "../support/json.ts"
import { freePort, until } from "../support/ports.ts"
import { postgresAvailable } from "../support/services.ts"

/** The secret every development gateway accepted before secrets were generated. */
const formerConstant = "development-secret-change-me-0123456789"

let database: FreshDatabase | undefined
let dataDir: string
let gateway: ChildProcess | undefined
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "gateway-secret-"))
  if (postgresAvailable) database = await freshDatabase("devsecret")
})
afterAll(async () => {
  if (gateway?.exitCode === null) gateway.kill("SIGKILL")
  await database?.drop()
  rmSync(dataDir, { recursive: true, force: true })
})

/** The environment of a development machine with no JWT_SECRET. */
const developmentEnv = (extra: Record<string, string> = {}) => ({
  PATH: process.env["PATH"],
  DATA_DIR: dataDir,
  LOG_LEVEL: "info",
  ...(database === undefined ? {} : { DATABASE_URL: database.url }),
  ...extra
})

const mint = (sub: string) =>
  execFileSync(process.execPath, ["scripts/token.ts", "--sub", sub], { env: developmentEnv(), encoding: "utf8" }).trim()

describe("the development JWT secret", () => {
  it("is generated on first use, kept in DATA_DIR, shared with npm run token, and no constant is accepted", async () => {
    const token = mint("dev-user")
    const file = join(dataDir, "jwt-secret")
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const secret = readFileSync(file, "utf8").trim()
    expect(Buffer.byteLength(secret)).toBeGreaterThanOrEqual(32)
    // A second run reads the same secret rather than drawing another.
    mint("dev-user")
    expect(readFileSync(file, "utf8").trim()).toBe(secret)

    const port = await freePort()
    gateway = spawn(process.execPath, ["src/main.ts"], {
      env: developmentEnv({ PORT: String(port), HOST: "127.0.0.1" }),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    gateway.stdout!.on("data", (data) => (output += data))
    gateway.stderr!.on("data", (data) => (output += data))
    await until(() => output.includes("Listening on"), "the gateway to listen", 60_000)
    expect(output).toContain(`using the development secret in ${file}`)
    const url = `http://127.0.0.1:${port}/v1/models`

    expect((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    const forged = await new SignJWT({ role: "admin" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("mallory")
      .setIssuedAt()
      .setExpirationTime("10m")
      .sign(new TextEncoder().encode(formerConstant))
    const refused = await fetch(url, { headers: { authorization: `Bearer ${forged}` } })
    expect(refused.status).toBe(401)
    expect(await json(refused)).toMatchObject({ error_type: "authentication_error" })
    expect(output).not.toContain(secret)

    const exited = new Promise((resolve) => gateway!.once("exit", resolve))
    gateway.kill("SIGTERM")
    expect(await exited).toBe(0)
  }, 90_000)
})
