/**
 * Runs the numbered SQL files in `migrations/` (e.g. `0001_billing.sql`) once each,
 * in order, recording them in `effect_sql_migrations`. The same files run against
 * a real PostgreSQL and the embedded one.
 */
import * as Effect from "effect/Effect"
import * as Migrator from "effect/sql/Migrator"
import * as SqlClient from "effect/sql/SqlClient"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { projectFile } from "../ProjectFiles.ts"

export const migrationsDirectory = fileURLToPath(projectFile("migrations/"))
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

/**
 * Splits a migration into its statements at top-level semicolons (never inside quotes,
 * dollar-quoted function bodies or comments): the client speaks the extended protocol,
 * which runs one statement per query.
 */
export const splitStatements = (script: string): ReadonlyArray<string> => {
  const statements: Array<string> = []
  let start = 0
  let meaningful = false
  let i = 0
  const skipTo = (end: number) => {
    i = end === -1 ? script.length : end
  }
  while (i < script.length) {
    const char = script[i]!
    if (char === "-" && script[i + 1] === "-") {
      skipTo(script.indexOf("\n", i))
      continue
    }
    if (char === "/" && script[i + 1] === "*") {
      const end = script.indexOf("*/", i + 2)
      skipTo(end === -1 ? -1 : end + 2)
      continue
    }
    if (char === ";") {
      if (meaningful) statements.push(script.slice(start, i).trim())
      start = i + 1
      meaningful = false
      i++
      continue
    }
    if (!/\s/.test(char)) meaningful = true
    if (char === "'" || char === '"') {
      // A doubled quote is an escaped quote: the scan simply leaves and re-enters the literal.
      skipTo(script.indexOf(char, i + 1))
      if (i < script.length) i++
      continue
    }
    const dollarQuote = char === "$" ? /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(script.slice(i, i + 64)) : null
    if (dollarQuote !== null) {
      const tag = dollarQuote[0]
      const end = script.indexOf(tag, i + tag.length)
      skipTo(end === -1 ? -1 : end + tag.length)
      continue
    }
    i++
  }
  if (meaningful) statements.push(script.slice(start).trim())
  return statements
}

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
              for (const statement of splitStatements(file.sql)) yield* sql.unsafe(statement)
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
