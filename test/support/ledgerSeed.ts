/**
 * Writes charges into a test database's ledger at chosen times (the gateway stamps its own with the commit's
 * time), keeping every invariant the ledger checks read: each charge lowers the balance it follows, takes the
 * next sequence number, and names a hold id no real hold will ever have.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import * as Money from "../../src/domain/Money.ts"
import { runSql } from "./sql.ts"

export interface SeededCharge {
  readonly at: Date
  readonly model: string
  /** USD, as a decimal string. */
  readonly cost: string
  readonly promptTokens: number
  readonly completionTokens: number
  readonly cachedTokens?: number
  readonly reasoningTokens?: number
}

/** Credits the account what the charges cost (opening it when needed), then writes each charge. */
export const seedCharges = (databaseUrl: string, userId: string, charges: ReadonlyArray<SeededCharge>) => {
  // One dollar beyond what the charges take, so that the balance never reaches zero on the way.
  const total = charges.reduce((sum, charge) => sum + Money.parse(charge.cost)!, Money.parse("1")!)
  return runSql(
    databaseUrl,
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql.withTransaction(
        Effect.gen(function* () {
          yield* sql`
        SELECT * FROM billing_credit(${userId}::text, 0::numeric, ${Money.format(total)}::numeric,
          'Seed credit'::text, 'test-seed'::text)`
          for (const [i, charge] of charges.entries()) {
            yield* sql`
          WITH account AS (
            UPDATE billing_accounts
              SET balance = balance - ${charge.cost}::numeric, transaction_count = transaction_count + 1
              WHERE user_id = ${userId}::text
              RETURNING balance, transaction_count
          )
          INSERT INTO billing_transactions (
            user_id, seq, kind, amount, balance_after, description, created_at, hold_id, request_id, model,
            usage_source, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens
          )
            SELECT ${userId}::text, account.transaction_count, 'charge', -${charge.cost}::numeric, account.balance,
                   'Seeded charge', ${charge.at}::timestamptz, nextval(pg_get_serial_sequence('billing_holds', 'id')),
                   ${`seeded-${userId}-${i}`}::text, ${charge.model}::text, 'provider', ${charge.promptTokens}::integer,
                   ${charge.completionTokens}::integer, ${charge.cachedTokens ?? 0}::bigint,
                   ${charge.reasoningTokens ?? 0}::bigint
            FROM account`
          }
        })
      )
    )
  )
}
