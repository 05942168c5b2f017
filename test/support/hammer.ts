/**
 * The billing hammer: many concurrent workers sending chat requests for a few partly funded
 * users, and the checks of the ledger afterwards (in SQL, and through the API as each user
 * sees their account). Each check returns violations as readable lines: empty when exact.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { expect, vi } from "vitest"
import * as Money from "../../src/domain/Money.ts"
import { builtInModels } from "../../src/services/registry/ModelCatalog.ts"
import { ledgerViolations } from "./billing.ts"
import { client, usd } from "./billingClient.ts"
import type { TestGateway } from "./gateway.ts"
import type { Json } from "./json.ts"
import { runSql } from "./sql.ts"

export interface Load {
  readonly users: number
  readonly requests: number
  readonly workers: number
}
export const fullLoad: Load = { users: 20, requests: 2000, workers: 200 }
export const initialBalance = "0.05"

const gpt4 = builtInModels.find((model) => model.id === "gpt-4")!
const costOfUsage = (usage: { readonly prompt_tokens: number; readonly completion_tokens: number }) =>
  Money.costOf(usage.prompt_tokens, usd(gpt4.input_price_per_1m)) +
  Money.costOf(usage.completion_tokens, usd(gpt4.output_price_per_1m))

export interface Sent {
  readonly requestId: string
  readonly userId: string
  readonly status: number
  /** What the client was told it cost (plain: x-request-cost), or computed from the stream's final usage. */
  readonly cost: Money.Nanos | undefined
  readonly usage: { readonly prompt_tokens: number; readonly completion_tokens: number } | undefined
}

export const hammer = async (gateway: TestGateway, label: string, load: Load): Promise<ReadonlyArray<Sent>> => {
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
export const apiViolations = async (
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
export const sqlViolations = async (databaseUrl: string, sent: ReadonlyArray<Sent>): Promise<ReadonlyArray<string>> => {
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
