/**
 * The hammer: hundreds of concurrent workers send thousands of chat requests (plain and
 * streamed) for users whose balances cover only part of them: 20 users, one hot account, 200
 * accounts. Afterwards no balance is below zero, every balance equals its ledger, every
 * successful response has exactly one charge of exactly its cost, every refused one has none,
 * every completed upstream call is charged exactly once, and no hold is left. (The control run,
 * a racy ledger that these checks must catch, is in billing-processes.test.ts: in one process an
 * account's requests never race, they share one ledger writer.)
 */
import { Layer } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { startGateway, type TestGateway } from "../support/gateway.ts"
import { ProviderAdapters } from "../../src/services/registry/ProviderRegistry.ts"
import {
  apiViolations,
  countingUpstream,
  fullLoad,
  hammer,
  initialBalance,
  type Load,
  noRateLimits,
  runViolations,
  sqlViolations,
  tally
} from "../support/hammer.ts"
import { sample } from "../support/prometheus.ts"
import { postgresAvailable } from "../support/services.ts"

let gateway: TestGateway | undefined
let dataDir: string | undefined
afterEach(async () => {
  await gateway?.close()
  gateway = undefined
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true })
  dataDir = undefined
})

describe.skipIf(!postgresAvailable)("the billing hammer", () => {
  it("2,000 requests from 200 workers for 20 partly funded users leave the ledger exact", async () => {
    gateway = await startGateway({ BILLING_INITIAL_BALANCE: initialBalance, ...noRateLimits })
    const sent = await hammer(gateway, "exact", fullLoad)
    const served = sent.filter((request) => request.status === 200).length
    const refused = sent.filter((request) => request.status === 402).length
    console.info(`hammer: ${served} served, ${refused} refused (402), ${sent.length - served - refused} other`)
    expect(sent).toHaveLength(fullLoad.requests)
    // The balances cover only part of the requests: both outcomes must occur for the run to mean anything.
    expect(served).toBeGreaterThan(fullLoad.requests / 10)
    expect(refused).toBeGreaterThan(fullLoad.requests / 10)
    expect(await sqlViolations(gateway.databaseUrl!, sent)).toEqual([])
    expect(await apiViolations(gateway, "exact", fullLoad, sent)).toEqual([])
  }, 120_000)

  it.each([
    ["one hot account", { users: 1, requests: 1000, workers: 100 }, "8"],
    ["200 accounts", { users: 200, requests: 2000, workers: 200 }, "0.02"]
  ] as const)(
    "%s: every completed upstream call charged exactly once",
    async (label, load, initial) => {
      const upstream = countingUpstream({ maxChunks: 40, chunkBytes: 20, delayMs: 0, plainMs: 0 })
      gateway = await startGateway(
        { BILLING_INITIAL_BALANCE: initial, OPENAI_API_KEY: "sk-hammer", LOG_LEVEL: "none", ...noRateLimits },
        { adapters: Layer.succeed(ProviderAdapters, { openai: upstream.provider }) }
      )
      const prefix = label.replace(/\W+/g, "-")
      const sent = await hammer(gateway, prefix, load)
      const { served, refused } = tally(`hammer, ${label}`, sent)
      expect(served).toBeGreaterThan(load.requests / 10)
      expect(refused).toBeGreaterThan(load.requests / 10)
      expect(await runViolations({ gateway, label: prefix, load, sent, completed: upstream.completed })).toEqual([])
    },
    120_000
  )
})

describe.skipIf(!postgresAvailable)("the billing hammer with long requests and a short hold TTL", () => {
  it("stalled and slow readers keep their holds; every completed upstream call is charged exactly once", async () => {
    // Streams take 31 s upstream (40 chunks, 800 ms apart): longer than the 30 s hold TTL. A plain answer takes
    // 4 s (within the 5 s upstream timeout). Half the stream readers stop reading for 32 s after their first
    // bytes, the others read slowly. Without renewals the sweeper (every second) takes the holds of live
    // requests and the run fails (gateway_holds_swept_total > 0).
    const upstream = countingUpstream({ maxChunks: 40, chunkBytes: 65_536, delayMs: 800, plainMs: 4000 })
    gateway = await startGateway(
      {
        // Three requests for the model's maximum (8,192 tokens) hold nearly all of it: some requests are refused.
        BILLING_INITIAL_BALANCE: "1.5",
        BILLING_HOLD_TTL_SECONDS: "30",
        // Stalls stay below the limit after which a stream to a client that stopped reading is ended.
        CLIENT_WRITE_TIMEOUT_SECONDS: "60",
        BILLING_SWEEP_INTERVAL_SECONDS: "1",
        UPSTREAM_REQUEST_TIMEOUT_SECONDS: "5",
        OPENAI_API_KEY: "sk-hammer",
        LOG_LEVEL: "none",
        ...noRateLimits
      },
      { adapters: Layer.succeed(ProviderAdapters, { openai: upstream.provider }) }
    )
    const load: Load = { users: 5, requests: 160, workers: 40 }
    const sent = await hammer(gateway, "stalled", load, { stallEvery: 2, stallMs: 32_000, readDelayMs: 50 })
    const { served, refused } = tally("stalled hammer", sent)
    expect(served).toBeGreaterThan(load.requests / 8)
    expect(refused).toBeGreaterThan(0)
    expect(await runViolations({ gateway, label: "stalled", load, sent, completed: upstream.completed })).toEqual([])
    // No process died: the sweeper, running every second, must never have taken a live request's hold.
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
    expect(sample(metrics, "gateway_holds_swept_total", { outcome: "released" })).toBe(0)
    expect(sample(metrics, "gateway_holds_swept_total", { outcome: "charged" })).toBe(0)
  }, 120_000)
})

describe("the billing hammer on the embedded PostgreSQL (PGlite)", () => {
  it("a smaller run keeps the same invariants, checked through the API", async () => {
    const load: Load = { users: 5, requests: 300, workers: 50 }
    dataDir = mkdtempSync(join(tmpdir(), "gateway-hammer-"))
    gateway = await startGateway({
      DATABASE_URL: "",
      DATA_DIR: dataDir,
      BILLING_INITIAL_BALANCE: initialBalance,
      ...noRateLimits
    })
    const sent = await hammer(gateway, "embedded", load)
    const served = sent.filter((request) => request.status === 200).length
    expect(served).toBeGreaterThan(0)
    expect(sent.filter((request) => request.status === 402).length).toBeGreaterThan(0)
    expect(await apiViolations(gateway, "embedded", load, sent)).toEqual([])
  }, 120_000)
})
