/**
 * `node bench/ledger.ts`: the ledger alone, pgbench-style. Clients each reserve and settle in a
 * loop (one reserve + settle pair per request, as a chat request makes), for one account or
 * spread over many, on a fresh database of the PostgreSQL at TEST_DATABASE_URL (default: the
 * local test server), with durable commits. Two shapes side by side:
 *
 *   batched       the gateway's ledger: LedgerWriter + billing_apply (migrations/0003)
 *   per-request   one function call and one commit per reserve and per settle (billing_reserve and
 *                 billing_settle of 0001/0002: the shape before batching), a connection per client (up to 32)
 *
 * Flags (defaults in parentheses): --seconds 8 (measured, after a 1 s warm-up), --clients 16,128,
 * --accounts 1,50, --writers 1,4 (batched runs), --modes batched,per-request.
 */
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { randomUUID } from "node:crypto"
import { parseArgs } from "node:util"
import type { CatalogModel } from "../src/domain/Catalog.ts"
import * as Money from "../src/domain/Money.ts"
import { makeBatchSql } from "../src/services/billing/BatchSql.ts"
import type { LedgerCharge } from "../src/services/billing/BillingSql.ts"
import { makeLedgerWriter } from "../src/services/billing/LedgerWriter.ts"
import { chargeOf, type Reservation } from "../src/services/billing/Metering.ts"
import { buildCatalog, builtInModels } from "../src/services/registry/ModelCatalog.ts"
import { migrate } from "../src/storage/Migrations.ts"
import { freshDatabase } from "../test/support/database.ts"

const { values: flags } = parseArgs({
  options: {
    seconds: { type: "string", default: "8" },
    clients: { type: "string", default: "16,128" },
    accounts: { type: "string", default: "1,50" },
    writers: { type: "string", default: "1,4" },
    modes: { type: "string", default: "batched,per-request" }
  }
})
const numbers = (text: string) => text.split(",").map(Number)
const seconds = Number(flags.seconds)
const warmupSeconds = 1
const initialBalance = "1000000000"

const catalog = buildCatalog(builtInModels, "built-in")
if (!Array.isArray(catalog)) throw new Error("the built-in catalog is invalid")
const gpt4: CatalogModel = catalog.find((model) => model.id === "gpt-4")!

const reservationOf = (userId: string, requestId: string): Reservation => ({
  userId,
  requestId,
  model: gpt4,
  promptTokens: 20,
  promptCost: Money.costOf(20, gpt4.inputPricePerMillion),
  outputPricePerMillion: gpt4.outputPricePerMillion,
  choices: 1,
  maxTokens: 40
})

const chargeFor = (requestId: string): LedgerCharge => ({
  ...chargeOf({
    _tag: "Charge",
    model: gpt4,
    source: "provider",
    promptTokens: 20,
    cachedTokens: 0,
    cacheWriteTokens: 0,
    completionTokens: 40,
    reasoningTokens: 0
  }),
  requestId,
  description: "Chat completion with gpt-4"
})

interface Run {
  readonly mode: string
  readonly accounts: number
  readonly clients: number
  readonly writers: number | undefined
}

/** One reserve + settle pair through the batched ledger. */
const batchedPair = (ledger: Effect.Success<ReturnType<typeof makeLedgerWriter>>) => (userId: string) =>
  Effect.gen(function* () {
    const requestId = randomUUID()
    const reservation = reservationOf(userId, requestId)
    const expiresAt = new Date(Date.now() + 900_000)
    const key = randomUUID()
    const reserved = yield* ledger.submit({ _tag: "Reserve", key, reservation, expiresAt })
    if (reserved.hold_id === null) throw new Error("the bench account ran out of money")
    const settle = { holdId: reserved.hold_id, key, userId, requestId, charge: chargeFor(requestId) }
    yield* ledger.submit({ _tag: "Settle", settle })
  })

/** One reserve + settle pair as two function calls, two commits. */
const perRequestPair = (sql: SqlClient.SqlClient) => (userId: string) =>
  Effect.gen(function* () {
    const requestId = randomUUID()
    const reservation = reservationOf(userId, requestId)
    const [hold] = yield* sql<{ readonly hold_id: bigint | null }>`SELECT hold_id FROM billing_reserve(
      ${userId}::text, ${initialBalance}::numeric, ${Money.format(reservation.promptCost)}::numeric,
      ${Money.format(reservation.outputPricePerMillion)}::numeric, 1, 40, ${requestId}::text, 'gpt-4',
      ${new Date(Date.now() + 900_000)}::timestamptz)`
    if (hold?.hold_id == null) throw new Error("the bench account ran out of money")
    const charge = chargeFor(requestId)
    yield* sql`SELECT status FROM billing_settle(
      ${hold.hold_id}::bigint, ${userId}::text, ${requestId}::text, ${charge.description}::text,
      ${Money.format(charge.cost)}::numeric, 'gpt-4', 20::bigint, 0::bigint, 0::bigint, 40::bigint, 0::bigint,
      ${Money.format(charge.prices.input)}::numeric, ${Money.format(charge.prices.cachedInput)}::numeric,
      ${Money.format(charge.prices.cacheWrite)}::numeric, ${Money.format(charge.prices.output)}::numeric, 'provider')`
  })

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

const measure = (run: Run, url: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const batches = { statements: 0, requests: 0 }
    let pair: (userId: string) => Effect.Effect<void, unknown>
    if (run.mode === "batched") {
      const apply = makeBatchSql(sql, Money.parse(initialBalance)!).apply
      const ledger = yield* makeLedgerWriter({
        apply: (requests) =>
          Effect.suspend(() => {
            batches.statements++
            batches.requests += requests.length
            return apply(requests)
          }),
        writers: run.writers!,
        maxBatchSize: 256,
        timeout: Duration.seconds(5)
      })
      pair = batchedPair(ledger)
    } else {
      pair = perRequestPair(sql)
    }
    const users = Array.from({ length: run.accounts }, (_, i) => `bench-${i}`)
    const start = performance.now()
    const measuredFrom = start + warmupSeconds * 1000
    const end = measuredFrom + seconds * 1000
    const latencies: Array<number> = []
    yield* Effect.forEach(
      Array.from({ length: run.clients }, (_, client) => client),
      (client) =>
        Effect.gen(function* () {
          for (let i = client; performance.now() < end; i += run.clients) {
            const began = performance.now()
            yield* pair(users[i % users.length]!)
            if (began >= measuredFrom) latencies.push(performance.now() - began)
          }
        }),
      { concurrency: "unbounded", discard: true }
    )
    latencies.sort((a, b) => a - b)
    const mean = latencies.reduce((sum, value) => sum + value, 0) / latencies.length
    return {
      ...run,
      pairsPerSecond: Math.round(latencies.length / seconds),
      meanMs: mean.toFixed(1),
      p99Ms: percentile(latencies, 0.99).toFixed(1),
      meanBatch: batches.statements === 0 ? "" : (batches.requests / batches.statements).toFixed(1),
      url
    }
  }).pipe(
    Effect.scoped,
    Effect.provide(
      PgClient.layer({
        url: Redacted.make(url),
        // Per request: a connection per client, as pgbench -c (up to 32: the server is shared). Batched: the gateway's pool.
        maxConnections: run.mode === "batched" ? 10 : Math.min(run.clients, 32),
        startupParameters: { statement_timeout: "5000" }
      })
    )
  )

const runs: Array<Run> = []
for (const accounts of numbers(flags.accounts))
  for (const clients of numbers(flags.clients))
    for (const mode of flags.modes.split(","))
      if (mode === "batched")
        for (const writers of numbers(flags.writers)) runs.push({ mode, accounts, clients, writers })
      else runs.push({ mode, accounts, clients, writers: undefined })

console.log("| accounts | clients | shape | writers | pairs/s | mean ms | p99 ms | requests per statement |")
console.log("|---|---|---|---|---|---|---|---|")
for (const run of runs) {
  const database = await freshDatabase("ledger_bench")
  try {
    await Effect.runPromise(
      migrate.pipe(Effect.provide(PgClient.layer({ url: Redacted.make(database.url), maxConnections: 1 })))
    )
    const result = await Effect.runPromise(measure(run, database.url))
    console.log(
      `| ${result.accounts} | ${result.clients} | ${result.mode} | ${result.writers ?? ""} | ` +
        `${result.pairsPerSecond} | ${result.meanMs} | ${result.p99Ms} | ${result.meanBatch} |`
    )
  } finally {
    await database.drop()
  }
}
