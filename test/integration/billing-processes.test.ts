/**
 * Several gateways on one PostgreSQL, all traffic from one account: each has its own pool and
 * its own ledger writers, so their batches for that account meet only at its row lock. The
 * ledger stays exact: two gateways in this process (two independent Billing layers), and two
 * worker processes (WEB_CONCURRENCY=2). The same two gateways against a ledger that reads the
 * account without locking it must be caught: that is what proves the checks can fail.
 */
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { type ChildProcess, spawn } from "node:child_process"
import { afterEach, describe, expect, it } from "vitest"
import { ProviderAdapters } from "../../src/services/registry/ProviderRegistry.ts"
import { freshDatabase } from "../support/database.ts"
import { processEnv, startGateway, type TestGateway } from "../support/gateway.ts"
import {
  apiViolations,
  countingUpstream,
  hammer,
  type Load,
  noRateLimits,
  runViolations,
  sqlViolations,
  tally
} from "../support/hammer.ts"
import { freePort, until } from "../support/ports.ts"
import { postgresAvailable } from "../support/services.ts"
import { runSql } from "../support/sql.ts"

const load: Load = { users: 1, requests: 800, workers: 100 }
const initial = "6"

/**
 * The classic mistake, for the control run: billing_apply without the account lock, so two
 * processes read the same balance, decide, and write what they computed from that read. The
 * sleep stands in for the work between an application's SELECT and its UPDATE.
 */
const makeApplyRacy = (databaseUrl: string) =>
  runSql(
    databaseUrl,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const [{ definition }] = yield* sql<{ readonly definition: string }>`
        SELECT pg_get_functiondef('billing_apply'::regproc) AS definition`
      const locked = "    ORDER BY a.user_id\n    FOR UPDATE;"
      const loop = "  LOOP\n    IF v_user IS DISTINCT FROM r.user_id THEN"
      if (!definition.includes(locked) || !definition.includes(loop)) throw new Error("billing_apply has changed")
      yield* sql.unsafe(
        definition
          .replace(locked, "    ORDER BY a.user_id;")
          .replace(loop, "  LOOP\n    PERFORM pg_sleep(0.001);\n    IF v_user IS DISTINCT FROM r.user_id THEN")
      )
    })
  )

const gateways: Array<TestGateway> = []
afterEach(async () => {
  // The first gateway made the database and drops it: it closes last.
  for (const gateway of gateways.reverse()) await gateway.close()
  gateways.length = 0
})

/** Two gateways on one database, answering through one counting upstream. */
const twoGateways = async () => {
  const upstream = countingUpstream({ maxChunks: 40, chunkBytes: 20, delayMs: 0, plainMs: 0 })
  const options = { adapters: Layer.succeed(ProviderAdapters, { openai: upstream.provider }) }
  const env = { BILLING_INITIAL_BALANCE: initial, OPENAI_API_KEY: "sk-hammer", LOG_LEVEL: "none", ...noRateLimits }
  gateways.push(await startGateway(env, options))
  gateways.push(await startGateway({ ...env, DATABASE_URL: gateways[0]!.databaseUrl! }, options))
  return { upstream, databaseUrl: gateways[0]!.databaseUrl! }
}

describe.skipIf(!postgresAvailable)("two gateways on one database, one account", () => {
  it("stay exact: every completed upstream call charged exactly once", async () => {
    const { upstream } = await twoGateways()
    const sent = await hammer(gateways, "two", load)
    const { served, refused } = tally("two gateways", sent)
    expect(served).toBeGreaterThan(load.requests / 10)
    expect(refused).toBeGreaterThan(0)
    // Read through the second gateway; the database is the first's.
    const gateway = { ...gateways[1]!, databaseUrl: gateways[0]!.databaseUrl }
    expect(await runViolations({ gateway, label: "two", load, sent, completed: upstream.completed })).toEqual([])
  }, 120_000)

  it("catch a ledger that does not lock the account (the control run)", async () => {
    const { databaseUrl } = await twoGateways()
    await makeApplyRacy(databaseUrl)
    const sent = await hammer(gateways, "racy", load)
    const violations = await sqlViolations(databaseUrl, sent)
    console.info(`racy ledger: ${violations.length} violations, e.g.\n  ${violations.slice(0, 5).join("\n  ")}`)
    expect(violations.length).toBeGreaterThan(0)
  }, 120_000)
})

describe.runIf(postgresAvailable && process.platform === "linux")("WEB_CONCURRENCY=2, one account", () => {
  let primary: ChildProcess | undefined
  afterEach(() => {
    if (primary?.exitCode === null) primary.kill("SIGKILL")
  })

  it("two worker processes keep the ledger exact", async () => {
    const database = await freshDatabase("processes")
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    primary = spawn(process.execPath, ["src/main.ts"], {
      env: processEnv(port, {
        LOG_LEVEL: "error",
        DATABASE_URL: database.url,
        WEB_CONCURRENCY: "2",
        BILLING_INITIAL_BALANCE: initial,
        ...noRateLimits
      }),
      stdio: "ignore"
    })
    const exited = new Promise((resolve) => primary!.once("exit", resolve))
    gateways.push({
      url,
      databaseUrl: database.url,
      close: async () => {
        primary?.kill("SIGTERM")
        await exited
        await database.drop()
      }
    })
    const ready = () =>
      fetch(`${url}/ready`).then(
        (response) => response.ok,
        () => false
      )
    await until(ready, "the workers to be ready", 20_000)
    const sent = await hammer(gateways, "processes", load)
    expect(tally("two processes", sent).served).toBeGreaterThan(load.requests / 10)
    expect(await sqlViolations(database.url, sent)).toEqual([])
    expect(await apiViolations(gateways[0]!, "processes", load, sent)).toEqual([])
  }, 120_000)
})
