/**
 * A fresh PostgreSQL database per test suite, so suites (and concurrent test runs on one
 * machine) never see each other's rows or migrations. Dropped when the suite ends.
 * TEST_DATABASE_TEMPLATE names a database to copy instead of an empty one: the SQL mutants
 * (scripts/sql-mutants.ts) give the suites a migrated schema with one planted bug.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { Reactivity } from "effect/reactivity"
import { testDatabaseUrl } from "./services.ts"

const admin = <A, E>(use: (sql: PgClient.PgClient) => Effect.Effect<A, E>) =>
  Effect.runPromise(
    Effect.scoped(Effect.flatMap(PgClient.make({ url: Redacted.make(testDatabaseUrl), maxConnections: 1 }), use)).pipe(
      Effect.provide(Reactivity.layer)
    )
  )

export interface FreshDatabase {
  readonly name: string
  readonly url: string
  readonly drop: () => Promise<void>
}

export const freshDatabase = async (label = "suite"): Promise<FreshDatabase> => {
  const name = `gw_${label.replace(/[^a-z0-9]/gi, "_").toLowerCase()}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  const template = process.env["TEST_DATABASE_TEMPLATE"]
  await admin((sql) => sql.unsafe(`CREATE DATABASE ${name}${template === undefined ? "" : ` TEMPLATE ${template}`}`))
  const url = new URL(testDatabaseUrl)
  url.pathname = `/${name}`
  return {
    name,
    url: url.toString(),
    drop: () => admin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined)
  }
}
