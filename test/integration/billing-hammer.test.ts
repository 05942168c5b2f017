/**
 * The hammer: 200 concurrent workers send 2,000 chat requests (plain and streamed) for 20
 * users whose balances cover only part of them. Afterwards no balance is below zero, every
 * balance equals its ledger, every successful response has exactly one charge of exactly its
 * cost, every refused one has none, and no hold is left. The same run against a
 * deliberately racy reserve (read, then write) must be caught: that is what proves the
 * checks can fail.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it, vi } from "vitest"
import * as Money from "../../src/domain/Money.ts"
import { builtInModels } from "../../src/services/registry/ModelCatalog.ts"
import { ledgerViolations } from "../support/billing.ts"
import { client, usd } from "../support/billingClient.ts"
import { startGateway, type TestGateway } from "../support/gateway.ts"
import type { Json } from "../support/json.ts"
import { postgresAvailable } from "../support/services.ts"
import { runSql } from "../support/sql.ts"

interface Load {
  readonly users: number
  readonly requests: number
  readonly workers: number
}
const fullLoad: Load = { users: 20, requests: 2000, workers: 200 }
const initialBalance = "0.05"

const gpt4 = builtInModels.find((model) => model.id === "gpt-4")!
const costOfUsage = (usage: { readonly prompt_tokens: number; readonly completion_tokens: number }) =>
  Money.costOf(usage.prompt_tokens, usd(gpt4.input_price_per_1m)) +
  Money.costOf(usage.completion_tokens, usd(gpt4.output_price_per_1m))

interface Sent {
  readonly requestId: string
  readonly userId: string
  readonly status: number
  /** What the client was told it cost (plain: x-request-cost), or computed from the stream's final usage. */
  readonly cost: Money.Nanos | undefined
  readonly usage: { readonly prompt_tokens: number; readonly completion_tokens: number } | undefined
}

const hammer = async (gateway: TestGateway, label: string, load: Load): Promise<ReadonlyArray<Sent>> => {
  const api = client(gateway.url)
  const sent: Array<Sent> = []
  let next = 0
  const worker = async () => {
    while (next < load.requests) {
      const i = next++
      const requestId = `${label}-${i}`
      const userId = `${label}-user-${i % load.users}`
      const stream = i % 4 === 3
      const response = await api.chat(
        userId,
        {
          model: "gpt-4",
          messages: [{ role: "user", content: `Request ${i}: tell me something` }],
          // A third ask for the model's maximum: their budget is clamped to what is available.
          ...(i % 3 === 0 ? {} : { max_tokens: 40 }),
          ...(stream ? { stream: true, stream_options: { include_usage: true } } : {})
        },
        { "x-request-id": requestId }
      )
      const text = await response.text()
      if (response.status !== 200) {
        sent.push({ requestId, userId, status: response.status, cost: undefined, usage: undefined })
        continue
      }
      if (stream) {
        const complete = text.endsWith("data: [DONE]\n\n") && !text.includes('"error"')
        const events = text.split("\n\n").filter((event) => event.startsWith("data: {"))
        const usage = complete ? JSON.parse(events.at(-1)!.slice("data: ".length)).usage : undefined
        sent.push({ requestId, userId, status: complete ? 200 : 502, cost: usage && costOfUsage(usage), usage })
      } else {
        const header = response.headers.get("x-request-cost")
        sent.push({
          requestId,
          userId,
          status: 200,
          cost: header === null ? undefined : usd(header),
          usage: (JSON.parse(text) as Json).usage
        })
      }
    }
  }
  await Promise.all(Array.from({ length: load.workers }, worker))
  return sent
}

/** What each request's outcome says about the ledger, whichever way the charges were read. */
const checkCharges = (
  sent: ReadonlyArray<Sent>,
  charges: ReadonlyArray<{ readonly request_id: string; readonly amount: Money.Nanos }>
): Array<string> => {
  const violations: Array<string> = []
  const chargesByRequest = new Map<string, Array<Money.Nanos>>()
  for (const charge of charges) {
    chargesByRequest.set(charge.request_id, [...(chargesByRequest.get(charge.request_id) ?? []), charge.amount])
  }
  for (const request of sent) {
    const found = chargesByRequest.get(request.requestId) ?? []
    chargesByRequest.delete(request.requestId)
    if (request.status === 402) {
      if (found.length > 0) violations.push(`refused request ${request.requestId} was charged`)
      continue
    }
    if (request.status !== 200) {
      violations.push(`request ${request.requestId} answered ${request.status}`)
      continue
    }
    if (found.length !== 1) {
      violations.push(`successful request ${request.requestId} has ${found.length} charges`)
      continue
    }
    const charged = -found[0]!
    if (request.cost === undefined) violations.push(`successful request ${request.requestId} was told no cost`)
    else if (charged !== request.cost)
      violations.push(`request ${request.requestId}: charged ${charged}, told ${request.cost}`)
    if (request.usage !== undefined && charged !== costOfUsage(request.usage)) {
      violations.push(`request ${request.requestId}: charged ${charged}, its usage costs ${costOfUsage(request.usage)}`)
    }
  }
  for (const requestId of chargesByRequest.keys()) violations.push(`charge for unknown request ${requestId}`)
  return violations
}

/**
 * The same checks through the API, as each user sees their account: balance = sum of the
 * listed transactions, nothing held once all is settled, and the charges of their requests.
 */
const apiViolations = async (
  gateway: TestGateway,
  label: string,
  load: Load,
  sent: ReadonlyArray<Sent>
): Promise<ReadonlyArray<string>> => {
  const api = client(gateway.url)
  const violations: Array<string> = []
  const charges: Array<{ request_id: string; amount: Money.Nanos }> = []
  for (let user = 0; user < load.users; user++) {
    const userId = `${label}-user-${user}`
    const account = await vi
      .waitFor(
        async () => {
          const account = await api.balance(userId)
          expect(account.available).toBe(account.balance)
          return account
        },
        { timeout: 10_000, interval: 50 }
      )
      .catch(() => api.balance(userId))
    if (account.available !== account.balance)
      violations.push(`${userId}: ${account.balance - account.available} still held`)
    if (account.balance < 0n) violations.push(`${userId}: balance ${account.balance} below zero`)
    let sum = 0n
    let total = 0
    for (let offset = 0; offset === 0 || offset < total; offset += 100) {
      const { body } = await api.transactions(userId, `?limit=100&offset=${offset}`)
      total = body.total
      for (const transaction of body.transactions) {
        sum += usd(transaction.amount)
        if (transaction.request_id)
          charges.push({ request_id: transaction.request_id, amount: usd(transaction.amount) })
      }
    }
    if (sum !== account.balance) violations.push(`${userId}: balance ${account.balance} != ledger sum ${sum}`)
  }
  return [...violations, ...checkCharges(sent, charges)]
}

/** Every way the run can be wrong, as readable lines; empty when billing was exact. */
const violationsOf = async (databaseUrl: string, sent: ReadonlyArray<Sent>): Promise<ReadonlyArray<string>> => {
  // Streams settle when their response ends; give their settlements a moment to land.
  await vi
    .waitFor(
      () =>
        runSql(
          databaseUrl,
          Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1 FROM billing_holds LIMIT 1`)
        ).then((rows) => expect(rows).toHaveLength(0)),
      { timeout: 10_000, interval: 50 }
    )
    .catch(() => undefined)
  const [invariants, charges] = await runSql(
    databaseUrl,
    Effect.all([
      ledgerViolations(),
      Effect.flatMap(
        SqlClient.SqlClient,
        (sql) =>
          sql<{
            readonly request_id: string
            readonly amount: string
            readonly prompt_tokens: number
            readonly completion_tokens: number
          }>`SELECT request_id, amount::text, prompt_tokens, completion_tokens FROM billing_transactions WHERE kind = 'charge'`
      )
    ])
  )
  return [
    ...invariants,
    ...checkCharges(
      sent,
      charges.map((charge) => ({ request_id: charge.request_id, amount: usd(charge.amount) }))
    )
  ]
}

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
    gateway = await startGateway({ BILLING_INITIAL_BALANCE: initialBalance })
    const sent = await hammer(gateway, "exact", fullLoad)
    const served = sent.filter((request) => request.status === 200).length
    const refused = sent.filter((request) => request.status === 402).length
    console.info(`hammer: ${served} served, ${refused} refused (402), ${sent.length - served - refused} other`)
    expect(sent).toHaveLength(fullLoad.requests)
    // The balances cover only part of the requests: both outcomes must occur for the run to mean anything.
    expect(served).toBeGreaterThan(fullLoad.requests / 10)
    expect(refused).toBeGreaterThan(fullLoad.requests / 10)
    expect(await violationsOf(gateway.databaseUrl!, sent)).toEqual([])
    expect(await apiViolations(gateway, "exact", fullLoad, sent)).toEqual([])
  }, 120_000)

  it("catches a racy read-then-write reserve (the control run)", async () => {
    gateway = await startGateway({ BILLING_INITIAL_BALANCE: initialBalance, LOG_LEVEL: "none" })
    await runSql(
      gateway.databaseUrl!,
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(racyReserve))
    )
    const sent = await hammer(gateway, "racy", fullLoad)
    const violations = await violationsOf(gateway.databaseUrl!, sent)
    console.info(`racy reserve: ${violations.length} violations, e.g.\n  ${violations.slice(0, 5).join("\n  ")}`)
    expect(violations.length).toBeGreaterThan(0)
  }, 120_000)
})

describe("the billing hammer on the embedded PostgreSQL (PGlite)", () => {
  it("a smaller run keeps the same invariants, checked through the API", async () => {
    const load: Load = { users: 5, requests: 300, workers: 50 }
    dataDir = mkdtempSync(join(tmpdir(), "gateway-hammer-"))
    gateway = await startGateway({
      DATABASE_URL: "",
      DATA_DIR: dataDir,
      BILLING_INITIAL_BALANCE: initialBalance
    })
    const sent = await hammer(gateway, "embedded", load)
    const served = sent.filter((request) => request.status === 200).length
    expect(served).toBeGreaterThan(0)
    expect(sent.filter((request) => request.status === 402).length).toBeGreaterThan(0)
    expect(await apiViolations(gateway, "embedded", load, sent)).toEqual([])
  }, 120_000)
})
