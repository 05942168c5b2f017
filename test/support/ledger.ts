/** What the ledger holds for a user, read from outside the gateway: a refused request must leave none of it. */
import { SqlClient } from "effect/sql"
import { Effect } from "effect"
import { runSql } from "./sql.ts"

export interface LedgerRows {
  readonly charges: number
  readonly holds: number
}

export const ledgerRows = (databaseUrl: string, userIds: ReadonlyArray<string>): Promise<LedgerRows> =>
  runSql(
    databaseUrl,
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const [row] = yield* sql<{ charges: number; holds: number }>`
        SELECT (SELECT count(*)::int FROM billing_transactions WHERE kind = 'charge' AND user_id IN ${sql.in(userIds)}) AS charges,
               (SELECT count(*)::int FROM billing_holds WHERE user_id IN ${sql.in(userIds)}) AS holds`
      return { charges: row?.charges ?? 0, holds: row?.holds ?? 0 }
    })
  )
