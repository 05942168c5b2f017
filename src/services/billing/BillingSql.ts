/**
 * The billing statements. Each money movement is one call of a function defined in
 * `migrations/0001_billing.sql`: one round trip, one transaction. Amounts travel as exact
 * decimal strings and come back as NUMERIC strings; they become Nanos here, nowhere else.
 */
import { Effect } from "effect"
import type { SqlClient, SqlError } from "effect/sql"
import * as Money from "../../domain/Money.ts"
import type { Reservation, UsageSource } from "./Metering.ts"

const nanos = (text: string): Money.Nanos => {
  const value = Money.parse(text)
  if (value === undefined) throw new Error(`Not a NUMERIC(30, 9) amount: ${JSON.stringify(text)}`)
  return value
}

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

export interface SettleInput {
  readonly holdId: bigint
  readonly userId: string
  readonly holdAmount: Money.Nanos
  /** The charge; undefined releases the hold without charging. */
  readonly charge:
    | {
        readonly cost: Money.Nanos
        readonly description: string
        readonly requestId: string
        readonly model: string
        readonly promptTokens: number
        readonly completionTokens: number
        readonly source: UsageSource
      }
    | undefined
}

export interface SettleResult extends AccountState {
  /** What was charged; undefined when nothing was (a release, or a hold settled before). */
  readonly charged: Money.Nanos | undefined
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
  readonly completionTokens: number | null
  readonly usageSource: UsageSource | null
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
  readonly prompt_tokens: number | null
  readonly completion_tokens: number | null
  readonly usage_source: UsageSource | null
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

  const reserve = (reservation: Reservation, expiresAt: Date): Effect.Effect<ReserveResult, SqlError.SqlError> =>
    sql<{
      readonly hold_id: bigint | null
      readonly amount: string | null
      readonly max_tokens: number
      readonly balance: string
      readonly available: string
    }>`SELECT * FROM billing_reserve(
      ${reservation.userId}, ${initial}, ${Money.format(reservation.promptCost)},
      ${Money.format(reservation.outputPricePerMillion)}, ${reservation.choices}, ${reservation.maxTokens},
      ${reservation.requestId}, ${reservation.model.id}, ${expiresAt})`.pipe(
      Effect.map((rows) => {
        const row = first(rows)
        return {
          balance: nanos(row.balance),
          available: nanos(row.available),
          hold:
            row.hold_id === null || row.amount === null
              ? undefined
              : { id: row.hold_id, amount: nanos(row.amount), maxTokens: row.max_tokens }
        }
      })
    )

  const settle = (input: SettleInput): Effect.Effect<SettleResult, SqlError.SqlError> => {
    const charge = input.charge
    return sql<{ readonly charged: string | null; readonly balance: string; readonly available: string }>`
      SELECT charged, balance, available FROM billing_settle(
        ${input.holdId}, ${input.userId}, ${Money.format(input.holdAmount)},
        ${charge === undefined ? null : Money.format(charge.cost)}, ${charge?.description ?? null},
        ${charge?.requestId ?? null}, ${charge?.model ?? null}, ${charge?.promptTokens ?? null},
        ${charge?.completionTokens ?? null}, ${charge?.source ?? null})`.pipe(
      Effect.map((rows) => {
        const row = first(rows)
        return {
          charged: row.charged === null ? undefined : nanos(row.charged),
          balance: nanos(row.balance),
          available: nanos(row.available)
        }
      })
    )
  }

  /** A page of the ledger, newest first, and the account's total; undefined when the account does not exist. */
  const page = (
    userId: string,
    limit: number,
    offset: number
  ): Effect.Effect<
    { readonly total: number; readonly rows: ReadonlyArray<LedgerRow> } | undefined,
    SqlError.SqlError
  > =>
    // `seq` numbers an account's rows 1..total without gaps, so a page is one range of the (user_id, seq) index.
    sql<PageRow>`
      SELECT a.transaction_count AS total, t.id, t.kind, t.amount, t.balance_after, t.description, t.created_at,
             t.request_id, t.model, t.prompt_tokens, t.completion_tokens, t.usage_source
      FROM billing_accounts a
      LEFT JOIN billing_transactions t
        ON t.user_id = a.user_id
       AND t.seq <= a.transaction_count - ${offset}
       AND t.seq > a.transaction_count - ${offset} - ${limit}
      WHERE a.user_id = ${userId}
      ORDER BY t.seq DESC`.pipe(
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
            promptTokens: row.prompt_tokens,
            completionTokens: row.completion_tokens,
            usageSource: row.usage_source
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
        ${input.userId}, ${initial}, ${Money.format(input.amount)}, ${input.description}, ${input.actor})`.pipe(
      Effect.map((rows) => {
        const row = first(rows)
        return {
          balance: nanos(row.balance),
          available: nanos(row.available),
          applied: row.transaction_id !== null
        }
      })
    )

  const releaseExpired = (now: Date, limit: number): Effect.Effect<number, SqlError.SqlError> =>
    sql<{ readonly released: number }>`SELECT billing_release_expired(${now}, ${limit}) AS released`.pipe(
      Effect.map((rows) => first(rows).released)
    )

  return { account, reserve, settle, page, credit, releaseExpired }
}

export type BillingSql = ReturnType<typeof makeBillingSql>
