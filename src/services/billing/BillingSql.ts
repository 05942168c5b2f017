/**
 * The billing statements outside the request path: accounts, the ledger's pages, credits and
 * the sweep, each one call of a function defined in `migrations/`: one round trip, one
 * transaction. (Reserves, renewals and settles go in batches: BatchSql.ts.) Amounts travel as
 * exact decimal strings and come back as NUMERIC strings; they become Nanos here and in
 * BatchSql.ts, nowhere else. Every parameter is cast to the type the function declares, so that
 * no value (say, a count above 2^31 that the driver binds as bigint) can miss its signature.
 */
import * as Effect from "effect/Effect"
import type * as SqlClient from "effect/sql/SqlClient"
import type * as SqlError from "effect/sql/SqlError"
import type { AccountSort } from "../../domain/Billing.ts"
import * as Money from "../../domain/Money.ts"
import type { Charge, UsageSource } from "./Metering.ts"

/** A NUMERIC(30, 9) column as exact nanos; anything else is a defect of the schema, not a value. */
export const nanos = (text: string | null): Money.Nanos => {
  const value = text === null ? undefined : Money.parse(text)
  if (value === undefined) throw new Error(`Not a NUMERIC(30, 9) amount: ${JSON.stringify(text)}`)
  return value
}

const nanosOrNull = (text: string | null): Money.Nanos | null => (text === null ? null : nanos(text))

/** A bigint column as a number: token counts are safe integers (Metering.tokenCount). */
const countOrNull = (value: bigint | null): number | null => (value === null ? null : Number(value))

const first = <A>(rows: ReadonlyArray<A>): A => {
  if (rows.length === 0) throw new Error("A billing function returned no row")
  return rows[0]!
}

export interface AccountState {
  readonly balance: Money.Nanos
  /** The balance minus the holds of requests in flight. */
  readonly available: Money.Nanos
}

export interface ReserveResult extends AccountState {
  /** Undefined when not even one completion token per choice is affordable: nothing was reserved. */
  readonly hold: { readonly id: bigint; readonly amount: Money.Nanos; readonly maxTokens: number } | undefined
}

/** A charge as the ledger writes it: the metered usage, its cost and prices, and its description. */
export interface LedgerCharge extends Charge {
  readonly requestId: string
  readonly description: string
}

export interface SettleInput {
  readonly holdId: bigint
  /** The hold's reservation key, which addresses it (migrations/0004). */
  readonly key: string
  readonly userId: string
  readonly requestId: string
  /** Undefined releases the hold without charging. */
  readonly charge: LedgerCharge | undefined
}

export type SettleStatus = "charged" | "released" | "already_settled"

export interface SettleResult extends AccountState {
  readonly status: SettleStatus
  /** The hold's charge: this call's, or the earlier one's when already settled; 0 when none. */
  readonly charged: Money.Nanos
  readonly uncollected: Money.Nanos
}

/** A hold the sweeper took: released, and charged what its request had metered when `charged` is set. */
export interface SweptHold {
  readonly holdId: bigint
  readonly userId: string
  readonly requestId: string
  readonly model: string
  readonly charged: Money.Nanos | undefined
  readonly uncollected: Money.Nanos | undefined
}

export interface LedgerRow {
  readonly id: bigint
  readonly kind: "initial" | "charge" | "credit" | "adjustment"
  readonly amount: Money.Nanos
  readonly balanceAfter: Money.Nanos
  readonly description: string
  readonly createdAt: Date
  readonly requestId: string | null
  readonly model: string | null
  readonly promptTokens: number | null
  readonly cachedTokens: number | null
  readonly cacheWriteTokens: number | null
  readonly completionTokens: number | null
  readonly reasoningTokens: number | null
  /** `estimated`: charges written before the sources were told apart. */
  readonly usageSource: UsageSource | "estimated" | null
  readonly inputPrice: Money.Nanos | null
  readonly cachedInputPrice: Money.Nanos | null
  readonly cacheWritePrice: Money.Nanos | null
  readonly outputPrice: Money.Nanos | null
  readonly uncollected: Money.Nanos | null
}

/** The charges of one UTC day and model. */
export interface UsageRow {
  readonly day: string
  readonly model: string
  readonly requests: number
  readonly spend: Money.Nanos
  readonly promptTokens: number
  readonly completionTokens: number
  readonly cachedTokens: number
  readonly reasoningTokens: number
}

export interface AccountRow extends AccountState {
  readonly userId: string
  readonly updatedAt: Date
}

/** Which of an account's transactions a listing shows: all of them by default. */
export interface LedgerFilter {
  readonly kind?: LedgerRow["kind"]
  readonly model?: string
}

interface PageRow {
  readonly total: bigint
  readonly id: bigint | null
  readonly kind: LedgerRow["kind"]
  readonly amount: string
  readonly balance_after: string
  readonly description: string
  readonly created_at: Date
  readonly request_id: string | null
  readonly model: string | null
  readonly prompt_tokens: bigint | null
  readonly cached_tokens: bigint | null
  readonly cache_write_tokens: bigint | null
  readonly completion_tokens: bigint | null
  readonly reasoning_tokens: bigint | null
  readonly usage_source: LedgerRow["usageSource"]
  readonly input_price_per_1m: string | null
  readonly cached_input_price_per_1m: string | null
  readonly cache_write_price_per_1m: string | null
  readonly output_price_per_1m: string | null
  readonly uncollected: string | null
}

export const makeBillingSql = (sql: SqlClient.SqlClient, initialBalance: Money.Nanos) => {
  const initial = Money.format(initialBalance)

  const account = (userId: string): Effect.Effect<AccountState, SqlError.SqlError> =>
    sql<{ readonly balance: string; readonly held: string }>`
      SELECT balance, held FROM billing_account(${userId}, ${initial})`.pipe(
      Effect.map((rows) => {
        const row = first(rows)
        const balance = nanos(row.balance)
        return { balance, available: balance - nanos(row.held) }
      })
    )

  /** An account's state without opening it: undefined when the user has none. */
  const existingAccount = (userId: string): Effect.Effect<AccountState | undefined, SqlError.SqlError> =>
    sql<{ readonly balance: string; readonly held: string }>`
      SELECT balance::text, held::text FROM billing_accounts WHERE user_id = ${userId}::text`.pipe(
      Effect.map((rows) => {
        if (rows.length === 0) return undefined
        const balance = nanos(rows[0]!.balance)
        return { balance, available: balance - nanos(rows[0]!.held) }
      })
    )

  /** A page of the ledger, newest first, and the account's total; undefined when the account does not exist. */
  const columns = sql`t.id, t.kind, t.amount, t.balance_after, t.description, t.created_at,
             t.request_id, t.model, t.prompt_tokens, t.cached_tokens, t.cache_write_tokens, t.completion_tokens,
             t.reasoning_tokens, t.usage_source, t.input_price_per_1m, t.cached_input_price_per_1m,
             t.cache_write_price_per_1m, t.output_price_per_1m, t.uncollected`

  /**
   * Unfiltered, `seq` numbers an account's rows 1..total without gaps, so a page is one range of the (user_id, seq)
   * index. Filtered, the account's rows are walked newest first along that index, and counted.
   */
  const pageQuery = (userId: string, limit: number, offset: number, filter: LedgerFilter) => {
    if (filter.kind === undefined && filter.model === undefined) {
      return sql<PageRow>`
        SELECT a.transaction_count AS total, ${columns}
        FROM billing_accounts a
        LEFT JOIN billing_transactions t
          ON t.user_id = a.user_id
         AND t.seq <= a.transaction_count - ${offset}::bigint
         AND t.seq > a.transaction_count - ${offset}::bigint - ${limit}::bigint
        WHERE a.user_id = ${userId}::text
        ORDER BY t.seq DESC`
    }
    const matches = sql.and([
      sql`t.user_id = a.user_id`,
      ...(filter.kind === undefined ? [] : [sql`t.kind = ${filter.kind}::text`]),
      ...(filter.model === undefined ? [] : [sql`t.model = ${filter.model}::text`])
    ])
    return sql<PageRow>`
      SELECT matched.total, ${columns}
      FROM billing_accounts a
      CROSS JOIN LATERAL (SELECT count(*) AS total FROM billing_transactions t WHERE ${matches}) matched
      LEFT JOIN LATERAL (
        SELECT * FROM billing_transactions t WHERE ${matches}
        ORDER BY t.seq DESC LIMIT ${limit}::bigint OFFSET ${offset}::bigint
      ) t ON true
      WHERE a.user_id = ${userId}::text
      ORDER BY t.seq DESC`
  }

  const page = (
    userId: string,
    limit: number,
    offset: number,
    filter: LedgerFilter = {}
  ): Effect.Effect<
    { readonly total: number; readonly rows: ReadonlyArray<LedgerRow> } | undefined,
    SqlError.SqlError
  > =>
    pageQuery(userId, limit, offset, filter).pipe(
      Effect.map((rows) => {
        if (rows.length === 0) return undefined
        const ledger: Array<LedgerRow> = []
        for (const row of rows) {
          if (row.id === null) continue
          ledger.push({
            id: row.id,
            kind: row.kind,
            amount: nanos(row.amount),
            balanceAfter: nanos(row.balance_after),
            description: row.description,
            createdAt: row.created_at,
            requestId: row.request_id,
            model: row.model,
            promptTokens: countOrNull(row.prompt_tokens),
            cachedTokens: countOrNull(row.cached_tokens),
            cacheWriteTokens: countOrNull(row.cache_write_tokens),
            completionTokens: countOrNull(row.completion_tokens),
            reasoningTokens: countOrNull(row.reasoning_tokens),
            usageSource: row.usage_source,
            inputPrice: nanosOrNull(row.input_price_per_1m),
            cachedInputPrice: nanosOrNull(row.cached_input_price_per_1m),
            cacheWritePrice: nanosOrNull(row.cache_write_price_per_1m),
            outputPrice: nanosOrNull(row.output_price_per_1m),
            uncollected: nanosOrNull(row.uncollected)
          })
        }
        return { total: Number(rows[0]!.total), rows: ledger }
      })
    )

  const credit = (input: {
    readonly userId: string
    readonly amount: Money.Nanos
    readonly description: string
    readonly actor: string
  }): Effect.Effect<AccountState & { readonly applied: boolean }, SqlError.SqlError> =>
    sql<{ readonly balance: string; readonly available: string; readonly transaction_id: bigint | null }>`
      SELECT * FROM billing_credit(
        ${input.userId}::text, ${initial}::numeric, ${Money.format(input.amount)}::numeric,
        ${input.description}::text, ${input.actor}::text)`.pipe(
      Effect.map((rows) => {
        const row = first(rows)
        return {
          balance: nanos(row.balance),
          available: nanos(row.available),
          applied: row.transaction_id !== null
        }
      })
    )

  const sweepExpired = (now: Date, limit: number): Effect.Effect<ReadonlyArray<SweptHold>, SqlError.SqlError> =>
    sql<{
      readonly hold_id: bigint
      readonly user_id: string
      readonly request_id: string
      readonly model: string
      readonly charged: string | null
      readonly uncollected: string | null
    }>`SELECT * FROM billing_sweep_expired(${now}::timestamptz, ${limit}::integer)`.pipe(
      Effect.map((rows) =>
        rows.map((row) => ({
          holdId: row.hold_id,
          userId: row.user_id,
          requestId: row.request_id,
          model: row.model,
          charged: nanosOrNull(row.charged) ?? undefined,
          uncollected: nanosOrNull(row.uncollected) ?? undefined
        }))
      )
    )

  /**
   * The charges of the UTC days `from` (inclusive) to `to` (exclusive), summed per day and model, from the
   * ledger's daily sums (migrations/0005): days × models rows, however many charges. All users when `userId` is
   * undefined.
   */
  const usage = (
    userId: string | undefined,
    from: string,
    to: string
  ): Effect.Effect<ReadonlyArray<UsageRow>, SqlError.SqlError> =>
    sql<{
      readonly day: string
      readonly model: string
      readonly requests: string
      readonly spend: string
      readonly prompt_tokens: string
      readonly completion_tokens: string
      readonly cached_tokens: string
      readonly reasoning_tokens: string
    }>`
      SELECT day::text, model, sum(requests)::text AS requests, sum(spend)::text AS spend,
             sum(prompt_tokens)::text AS prompt_tokens, sum(completion_tokens)::text AS completion_tokens,
             sum(cached_tokens)::text AS cached_tokens, sum(reasoning_tokens)::text AS reasoning_tokens
      FROM billing_usage_daily
      WHERE day >= ${from}::date AND day < ${to}::date
        ${userId === undefined ? sql`` : sql`AND user_id = ${userId}::text`}
      GROUP BY day, model`.pipe(
      Effect.map((rows) =>
        rows.map((row) => ({
          day: row.day,
          model: row.model,
          requests: Number(row.requests),
          spend: nanos(row.spend),
          promptTokens: Number(row.prompt_tokens),
          completionTokens: Number(row.completion_tokens),
          cachedTokens: Number(row.cached_tokens),
          reasoningTokens: Number(row.reasoning_tokens)
        }))
      )
    )

  /** A page of accounts whose user id contains `search` (any case), and how many match. */
  const accounts = (query: {
    readonly search: string
    readonly sort: AccountSort
    readonly descending: boolean
    readonly limit: number
    readonly offset: number
  }): Effect.Effect<{ readonly total: number; readonly rows: ReadonlyArray<AccountRow> }, SqlError.SqlError> => {
    const pattern = `%${query.search.replace(/[\\%_]/g, (character) => `\\${character}`)}%`
    const matches = sql`user_id ILIKE ${pattern}::text`
    // The sort column and direction come from the schema's closed lists, never from the request's text.
    const direction = sql.literal(query.descending ? "DESC" : "ASC")
    const order = sql`${sql.literal(query.sort)} ${direction}, user_id ${direction}`
    return sql<{
      readonly total: bigint
      readonly user_id: string | null
      readonly balance: string | null
      readonly available: string | null
      readonly updated_at: Date | null
    }>`
      SELECT matched.total, page.*
      FROM (SELECT count(*) AS total FROM billing_accounts WHERE ${matches}) matched
      LEFT JOIN LATERAL (
        SELECT user_id, balance::text, (balance - held)::text AS available, updated_at
        FROM billing_accounts WHERE ${matches}
        ORDER BY ${order} LIMIT ${query.limit}::bigint OFFSET ${query.offset}::bigint
      ) page ON true`.pipe(
      Effect.map((rows) => ({
        total: Number(first(rows).total),
        rows: rows.flatMap((row) =>
          row.user_id === null
            ? []
            : [
                {
                  userId: row.user_id,
                  balance: nanos(row.balance),
                  available: nanos(row.available),
                  updatedAt: row.updated_at!
                }
              ]
        )
      }))
    )
  }

  return { account, existingAccount, page, credit, sweepExpired, usage, accounts }
}

export type BillingSql = ReturnType<typeof makeBillingSql>
