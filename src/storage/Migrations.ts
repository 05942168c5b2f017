/**
 * Runs the numbered SQL files in `migrations/` (e.g. `0001_billing.sql`) once each,
 * in order, recording them in `effect_sql_migrations`. The same files run against
 * a real PostgreSQL and the embedded one.
 */
import { Effect } from "effect"
import { Migrator, SqlClient } from "effect/sql"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

export const migrationsDirectory = fileURLToPath(new URL("../../migrations/", import.meta.url))
const table = "effect_sql_migrations"

interface MigrationFile {
  readonly id: number
  readonly name: string
  readonly sql: string
}

/** Read once at start-up; the files ship with the code. */
export const migrationFiles: ReadonlyArray<MigrationFile> = readdirSync(migrationsDirectory)
  .flatMap((file) => {
    const match = /^(\d+)_(.+)\.sql$/.exec(file)
    if (match === null) return []
    return [{ id: Number(match[1]), name: match[2]!, sql: readFileSync(migrationsDirectory + file, "utf8") }]
  })
  .sort((a, b) => a.id - b.id)

const run = Migrator.make({})

export const migrate = run({
  table,
  loader: Effect.succeed(
    migrationFiles.map(
      (file) =>
        [
          file.id,
          file.name,
          Effect.succeed(
            Effect.gen(function* () {
              const sql = yield* SqlClient.SqlClient
              yield* sql.unsafe(file.sql)
            })
          )
        ] as const
    )
  )
})

/** The id of the newest applied migration, or 0; used by readiness to see that the schema is current. */
export const latestAppliedMigration = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly id: number | null }>`SELECT max(migration_id) AS id FROM ${sql(table)}`
  return Number(rows[0]?.id ?? 0)
})

export const latestMigrationId = migrationFiles.at(-1)?.id ?? 0
