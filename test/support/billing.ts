/**
 * Billing under test: the real Billing and ChatCompletions services on a real database,
 * with a provider the test scripts; and the ledger invariants every billing test checks.
 */
import { Deferred, Effect, Fiber, Layer, References } from "effect"
import { SqlClient } from "effect/sql"
import { GatewayConfig, type RawEnv } from "../../src/Config.ts"
import * as Money from "../../src/domain/Money.ts"
import type { Provider } from "../../src/providers/Provider.ts"
import type { CatalogModel } from "../../src/domain/Catalog.ts"
import { Billing } from "../../src/services/billing/Billing.ts"
import { BillingEvents } from "../../src/services/billing/BillingEvents.ts"
import type { MeteredUsage, Outcome, UsageSource } from "../../src/services/billing/Metering.ts"
import { ChatCompletions } from "../../src/services/chat/ChatCompletions.ts"
import { ModelCatalog } from "../../src/services/registry/ModelCatalog.ts"
import { ProviderAdapters } from "../../src/services/registry/ProviderRegistry.ts"
import * as Database from "../../src/storage/Database.ts"

/**
 * The chat path on a real database, as production wires it, with `provider` as every vendor's adapter. One
 * upstream call per request unless `env` turns retries and breakers on: these suites count what each call costs,
 * the resilience suites the calls.
 */
export const billingLayer = (databaseUrl: string, provider: Provider, env: RawEnv = {}) =>
  Layer.mergeAll(ChatCompletions.layer, Billing.layer, ModelCatalog.layer, Database.layer).pipe(
    Layer.provide(Layer.succeed(ProviderAdapters, { openai: provider, anthropic: provider, gemini: provider })),
    Layer.provide(Layer.succeed(References.MinimumLogLevel, "Error")),
    Layer.provideMerge(
      GatewayConfig.layerTest({
        DATABASE_URL: databaseUrl,
        LOG_LEVEL: "error",
        RETRY_ENABLED: "false",
        CIRCUIT_BREAKER_ENABLED: "false",
        OPENAI_API_KEY: "sk-test",
        ANTHROPIC_API_KEY: "sk-test",
        GEMINI_API_KEY: "sk-test",
        ...env
      })
    )
  )

/** Billing events recorded for a test, and the layer that records them. */
export const recordedEvents = () => {
  const recorded = {
    balances: [] as Array<readonly [string, Money.Nanos]>,
    uncollected: [] as Array<readonly [string, Money.Nanos]>,
    unsettled: [] as Array<readonly [string, Money.Nanos]>
  }
  const layer = Layer.succeed(BillingEvents, {
    balanceChanged: (userId, balance) => Effect.sync(() => void recorded.balances.push([userId, balance])),
    uncollected: (model, amount) => Effect.sync(() => void recorded.uncollected.push([model, amount])),
    unsettled: (model, amount) => Effect.sync(() => void recorded.unsettled.push([model, amount])),
    swept: () => Effect.void
  })
  return { ...recorded, layer }
}

/**
 * Lets real I/O in flight (statements of the billing fibers) finish while a test clock stands
 * still: until no other statement runs on the test's database, however loaded the machine.
 */
export const settleIo = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  // Idle three polls in a row, a few real milliseconds apart: a statement the ledger writer has taken from its
  // queue but not yet sent is not active on the server yet, and a loaded machine widens that gap.
  let idlePolls = 0
  for (let turn = 0; turn < 1000 && idlePolls < 3; turn++) {
    yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)))
    const [busy] = yield* sql<{ readonly n: number }>`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()`
    idlePolls = busy!.n === 0 ? idlePolls + 1 : 0
  }
})

/**
 * Lets real I/O (statements of the billing fibers) progress while a test clock stands still,
 * until the condition holds; a condition that never holds fails the test.
 */
export const eventually = <E, R>(condition: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function* () {
    for (let attempt = 0; attempt < 5000; attempt++) {
      if (yield* condition) return
      yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
    }
    return yield* Effect.die(new Error("the condition never held"))
  })

/** A charge outcome with the given counts (the rest 0), as a request that ended would settle it. */
export const chargeOutcome = (
  model: CatalogModel,
  counts: Partial<MeteredUsage> & { readonly promptTokens: number; readonly completionTokens: number },
  source: UsageSource = "provider"
): Outcome => ({
  _tag: "Charge",
  model,
  source,
  cachedTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
  ...counts
})

export interface AccountRow {
  readonly user_id: string
  readonly balance: string
  readonly held: string
  readonly transaction_count: string
}

export interface LedgerRow {
  readonly id: string
  readonly user_id: string
  readonly seq: string
  readonly kind: string
  readonly amount: string
  readonly balance_after: string
  readonly description: string
  readonly request_id: string | null
  readonly model: string | null
  readonly prompt_tokens: number | null
  readonly cached_tokens: number | null
  readonly cache_write_tokens: number | null
  readonly completion_tokens: number | null
  readonly reasoning_tokens: number | null
  readonly usage_source: string | null
  readonly input_price_per_1m: string | null
  readonly cached_input_price_per_1m: string | null
  readonly cache_write_price_per_1m: string | null
  readonly output_price_per_1m: string | null
  readonly uncollected: string | null
}

/**
 * Everything that must hold of the billing tables at rest, as a list of violations (empty
 * when all hold): balances never below zero and equal to the sum of their ledger, each
 * balance_after the running sum, `held` equal to the holds, sequence numbers without gaps,
 * one initial transaction per account, at most one charge per request; and, unless holds
 * may legitimately be in flight, no hold left. Checked for the test's own accounts (a suite's
 * tests share its database: a hold another test leaked must fail that test, not this one), or
 * for every account of the database.
 */
export const ledgerViolations = (
  scope: ReadonlyArray<string> | "every account",
  options: { readonly holdsMayRemain?: boolean } = {}
) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const ofAccounts = scope === "every account" ? sql`TRUE` : sql`user_id IN ${sql.in(scope)}`
    const violations: Array<string> = []
    const accounts = yield* sql<{
      readonly user_id: string
      readonly balance: string
      readonly held: string
      readonly transaction_count: string
      readonly ledger_sum: string
      readonly ledger_rows: string
      readonly max_seq: string
      readonly initials: string
      readonly holds_sum: string
      readonly holds: string
    }>`
      SELECT a.user_id, a.balance::text, a.held::text, a.transaction_count::text,
             coalesce(l.total, 0)::text AS ledger_sum, coalesce(l.n, 0)::text AS ledger_rows,
             coalesce(l.max_seq, 0)::text AS max_seq, coalesce(l.initials, 0)::text AS initials,
             coalesce(h.total, 0)::text AS holds_sum, coalesce(h.n, 0)::text AS holds
      FROM billing_accounts a
      LEFT JOIN (
        SELECT user_id, sum(amount) AS total, count(*) AS n, max(seq) AS max_seq,
               count(*) FILTER (WHERE kind = 'initial') AS initials
        FROM billing_transactions GROUP BY user_id
      ) l USING (user_id)
      LEFT JOIN (SELECT user_id, sum(amount) AS total, count(*) AS n FROM billing_holds GROUP BY user_id) h USING (user_id)
      WHERE ${ofAccounts}`
    for (const a of accounts) {
      const at = `account ${a.user_id}`
      const balance = Money.parse(a.balance)!
      if (balance < 0n) violations.push(`${at}: balance ${a.balance} is below zero`)
      if (balance !== Money.parse(a.ledger_sum))
        violations.push(`${at}: balance ${a.balance} != ledger sum ${a.ledger_sum}`)
      if (Money.parse(a.held) !== Money.parse(a.holds_sum)) {
        violations.push(`${at}: held ${a.held} != sum of its holds ${a.holds_sum}`)
      }
      if (a.transaction_count !== a.ledger_rows || a.max_seq !== a.ledger_rows) {
        violations.push(`${at}: ${a.ledger_rows} ledger rows, count ${a.transaction_count}, last seq ${a.max_seq}`)
      }
      if (a.initials !== "1") violations.push(`${at}: ${a.initials} initial transactions`)
      if (!options.holdsMayRemain && a.holds !== "0") violations.push(`${at}: ${a.holds} holds left active`)
    }
    const badRunningSums = yield* sql<{ readonly id: string; readonly user_id: string }>`
      SELECT id::text, user_id FROM (
        SELECT id, user_id, balance_after, sum(amount) OVER (PARTITION BY user_id ORDER BY seq) AS running
        FROM billing_transactions WHERE ${ofAccounts}
      ) t WHERE balance_after <> running`
    for (const row of badRunningSums) {
      violations.push(`transaction ${row.id} of ${row.user_id}: balance_after is not the running sum`)
    }
    const doubleCharges = yield* sql<{ readonly request_id: string; readonly n: string }>`
      SELECT request_id, count(*)::text AS n FROM billing_transactions
      WHERE kind = 'charge' AND ${ofAccounts} GROUP BY request_id HAVING count(*) > 1`
    for (const row of doubleCharges) violations.push(`request ${row.request_id} charged ${row.n} times`)
    // The daily sums of usage reports (migrations/0005) equal the ledger's charges, day by day and model by model.
    const badDailySums = yield* sql<{ readonly user_id: string; readonly day: string; readonly model: string }>`
      SELECT user_id, day::text, model FROM (
        SELECT user_id, (created_at AT TIME ZONE 'UTC')::date AS day, coalesce(model, 'unknown') AS model,
               count(*) AS requests, -sum(amount) AS spend, coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
               coalesce(sum(completion_tokens), 0) AS completion_tokens,
               coalesce(sum(cached_tokens), 0) AS cached_tokens, coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens
        FROM billing_transactions WHERE kind = 'charge' AND ${ofAccounts} GROUP BY 1, 2, 3
      ) ledger
      FULL JOIN (SELECT * FROM billing_usage_daily WHERE ${ofAccounts}) daily USING (user_id, day, model)
      WHERE (ledger.requests, ledger.spend, ledger.prompt_tokens, ledger.completion_tokens, ledger.cached_tokens,
             ledger.reasoning_tokens)
            IS DISTINCT FROM
            (daily.requests, daily.spend, daily.prompt_tokens, daily.completion_tokens, daily.cached_tokens,
             daily.reasoning_tokens)`
    for (const row of badDailySums) {
      violations.push(`usage of ${row.user_id} on ${row.day} with ${row.model}: the daily sum is not the ledger's`)
    }
    return violations
  })

/** An account's ledger, oldest first; token counts as numbers (they are safe integers), amounts as exact text. */
export const ledgerOf = (userId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<LedgerRow>`
      SELECT id::text, user_id, seq::text, kind, amount::text, balance_after::text, description, request_id, model,
             prompt_tokens::float8 AS prompt_tokens, cached_tokens::float8 AS cached_tokens,
             cache_write_tokens::float8 AS cache_write_tokens, completion_tokens::float8 AS completion_tokens,
             reasoning_tokens::float8 AS reasoning_tokens, usage_source,
             input_price_per_1m::text, cached_input_price_per_1m::text, cache_write_price_per_1m::text,
             output_price_per_1m::text, uncollected::text
      FROM billing_transactions WHERE user_id = ${userId} ORDER BY seq`
  )

/** The charges of an account, oldest first. */
export const chargesOf = (userId: string) =>
  Effect.map(ledgerOf(userId), (rows) => rows.filter((row) => row.kind === "charge"))

export const accountOf = (userId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<AccountRow>`
        SELECT user_id, balance::text, held::text, transaction_count::text FROM billing_accounts WHERE user_id = ${userId}`,
      (rows) => rows[0]
    )
  )

export const holdsOf = (userId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{
      readonly id: string
      readonly amount: string
      readonly expires_at: Date
      readonly metered_at: Date | null
      readonly metered_cost: string | null
      readonly completion_tokens: number | null
    }>`
      SELECT id::text, amount::text, expires_at, metered_at, metered_cost::text,
             completion_tokens::float8 AS completion_tokens
      FROM billing_holds WHERE user_id = ${userId} ORDER BY id`
  )

/**
 * Holds an account's row lock from a transaction of the test's own, so that the ledger batches
 * touching that account wait in the database; returns the effect that lets them go on.
 */
export const lockAccount = (userId: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const locked = Deferred.makeUnsafe<void>()
    const release = Deferred.makeUnsafe<void>()
    const holder = yield* Effect.forkChild(
      sql.withTransaction(
        Effect.gen(function* () {
          yield* sql`SELECT 1 FROM billing_accounts WHERE user_id = ${userId} FOR UPDATE`
          yield* Deferred.succeed(locked, undefined)
          yield* Deferred.await(release)
        })
      )
    )
    yield* Deferred.await(locked)
    return Effect.andThen(Deferred.succeed(release, undefined), Fiber.join(holder))
  })

/** The ledger batches waiting on a lock (held by `lockAccount`): their backend, and when each was sent. */
export const blockedBatches = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql<{ readonly pid: number; readonly started: string }>`
    SELECT pid, query_start::text AS started FROM pg_stat_activity
    WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%billing_apply(%'`
)

/** When a transaction last changed the account (its updated_at). */
export const accountChangedAt = (userId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<{ readonly at: string }>`SELECT updated_at::text AS at FROM billing_accounts WHERE user_id = ${userId}`,
      (rows) => rows[0]?.at
    )
  )
