/**
 * The hammer: 200 concurrent workers send 2,000 chat requests (plain and streamed) for 20
 * users whose balances cover only part of them. Afterwards no balance is below zero, every
 * balance equals its ledger, every successful response has exactly one charge of exactly its
 * cost, every refused one has none, and no hold is left. The same run against a
 * deliberately racy reserve (read, then write) must be caught: that is what proves the
 * checks can fail.
 */
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
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
  sqlViolations,
  upstreamViolations
} from "../support/hammer.ts"
import { sample } from "../support/prometheus.ts"
import { postgresAvailable } from "../support/services.ts"
import { runSql } from "../support/sql.ts"

/**
 * The classic mistake, for the control run: read the available balance, decide, then write
 * what was computed from that read. Between read and write another request of the same user
 * reads the same balance; pg_sleep stands in for the round trip an application would make
 * between its SELECT and its UPDATE.
 */
const racyReserve = `
CREATE OR REPLACE FUNCTION billing_reserve(
  p_user_id text, p_initial_balance numeric, p_prompt_cost numeric, p_output_price numeric, p_choices integer,
  p_max_tokens integer, p_request_id text, p_model text, p_expires_at timestamptz
) RETURNS TABLE (hold_id bigint, amount numeric, max_tokens integer, balance numeric, available numeric)
LANGUAGE plpgsql AS $$
DECLARE
  v_account billing_accounts;
  v_budget numeric;
  v_tokens numeric;
  v_amount numeric;
  v_hold_id bigint;
BEGIN
  PERFORM billing_account(p_user_id, p_initial_balance);
  SELECT * INTO v_account FROM billing_accounts WHERE user_id = p_user_id;
  v_budget := v_account.balance - v_account.held - p_prompt_cost;
  v_tokens := CASE WHEN v_budget < 0 THEN 0 ELSE LEAST(p_max_tokens, div(v_budget * 1000000, p_output_price * p_choices)) END;
  IF v_tokens < 1 THEN
    RETURN QUERY SELECT NULL::bigint, NULL::numeric, 0, v_account.balance, v_account.balance - v_account.held;
    RETURN;
  END IF;
  v_amount := p_prompt_cost + ceil(v_tokens * p_choices * p_output_price * 1000) * 0.000000001;
  PERFORM pg_sleep(0.002);
  UPDATE billing_accounts SET held = v_account.held + v_amount WHERE user_id = p_user_id;
  INSERT INTO billing_holds (user_id, amount, request_id, model, max_tokens, expires_at)
    VALUES (p_user_id, v_amount, p_request_id, p_model, v_tokens, p_expires_at) RETURNING id INTO v_hold_id;
  RETURN QUERY SELECT v_hold_id, v_amount, v_tokens::integer, v_account.balance, v_account.balance - v_account.held - v_amount;
END
$$`

/** The hammer measures billing, not the rate limiter: limits far above what it sends. */
const noRateLimits = { RATE_LIMIT_PER_USER_PER_MINUTE: "1000000", RATE_LIMIT_GLOBAL_PER_HOUR: "10000000" }

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

  it("catches a racy read-then-write reserve (the control run)", async () => {
    gateway = await startGateway({ BILLING_INITIAL_BALANCE: initialBalance, LOG_LEVEL: "none", ...noRateLimits })
    await runSql(
      gateway.databaseUrl!,
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(racyReserve))
    )
    const sent = await hammer(gateway, "racy", fullLoad)
    const violations = await sqlViolations(gateway.databaseUrl!, sent)
    console.info(`racy reserve: ${violations.length} violations, e.g.\n  ${violations.slice(0, 5).join("\n  ")}`)
    expect(violations.length).toBeGreaterThan(0)
  }, 120_000)
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
    const served = sent.filter((request) => request.status === 200).length
    const refused = sent.filter((request) => request.status === 402).length
    console.info(`stalled hammer: ${served} served, ${refused} refused (402), ${sent.length - served - refused} other`)
    expect(served).toBeGreaterThan(load.requests / 8)
    expect(refused).toBeGreaterThan(0)
    expect(upstream.completed.size).toBe(served)
    expect(await sqlViolations(gateway.databaseUrl!, sent)).toEqual([])
    expect(await upstreamViolations(gateway.databaseUrl!, upstream.completed)).toEqual([])
    expect(await apiViolations(gateway, "stalled", load, sent)).toEqual([])
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
