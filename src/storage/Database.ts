/**
 * PostgreSQL: the configured server (DATABASE_URL), or an embedded PGlite served on a
 * loopback port so that the very same client, SQL and migrations run on a bare machine.
 */
import { PgClient } from "@effect/sql-pg"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import type * as SqlClient from "effect/sql/SqlClient"
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { GatewayConfig, type GatewayConfigShape } from "../Config.ts"
import { migrate } from "./Migrations.ts"

/**
 * How a service runs one statement outside the ledger's batches: interruptible (a caller that leaves stops waiting),
 * bounded by `timeout`, and a database that fails or does not answer makes the service unavailable (`unavailable`,
 * a 503), with the cause logged as `<service> <operation> failed`.
 */
export const boundedStatements =
  <U>(service: string, timeout: Duration.Duration, unavailable: () => U) =>
  <A, E>(operation: string, statement: Effect.Effect<A, E>): Effect.Effect<A, U> =>
    statement.pipe(
      Effect.interruptible,
      Effect.timeout(timeout),
      Effect.tapCause((cause) => Effect.logWarning(`${service} ${operation} failed`, cause)),
      Effect.mapError(unavailable)
    )

const poolOptions = {
  maxConnections: 10,
  connectTimeout: Duration.seconds(5),
  idleTimeout: Duration.seconds(60),
  // Every statement is bounded server-side too, so a stuck query cannot hold a pool slot forever.
  startupParameters: { statement_timeout: "5000" },
  applicationName: "llm-gateway"
} as const

/** PGlite executes one statement at a time; a small pool avoids queueing inside it. */
const embeddedMaxConnections = 4

/** The most connections this process opens (reported by `/health/detailed`). */
export const poolSize = (config: GatewayConfigShape): number =>
  config.storage.databaseUrl === undefined ? embeddedMaxConnections : poolOptions.maxConnections

const embeddedStopTimeout = Duration.seconds(2)

/** Starts PGlite on 127.0.0.1 with an OS-assigned port, for as long as the scope lives. */
const embeddedServer = (dataDir: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const { PGlite } = await import("@electric-sql/pglite")
      const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket")
      const directory = join(dataDir, "pglite")
      mkdirSync(directory, { recursive: true })
      const db = await PGlite.create({ dataDir: directory })
      const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 16 })
      await server.start()
      const [host, port] = server.getServerConn().split(":")
      return { db, server, host: host!, port: Number(port), directory }
    }),
    ({ db, server }) =>
      Effect.promise(() => server.stop()).pipe(
        // The socket server waits for its connections to end; a client connection cut off by a stop during
        // start-up (say, mid-migration) never does. Bounded, so that SIGTERM at any moment ends the process.
        Effect.timeoutOrElse({
          duration: embeddedStopTimeout,
          orElse: () => Effect.logWarning("The embedded PostgreSQL's connections did not close; closing it anyway")
        }),
        Effect.andThen(Effect.promise(() => db.close()))
      )
  )

const clientLayer = Layer.unwrap(
  Effect.gen(function* () {
    const config = yield* GatewayConfig
    const url = config.storage.databaseUrl
    if (url !== undefined) {
      return PgClient.layer({ ...poolOptions, url })
    }
    const embedded = yield* embeddedServer(config.storage.dataDir)
    yield* Effect.logInfo(`No DATABASE_URL: using embedded PostgreSQL (PGlite) with data in ${embedded.directory}`)
    return PgClient.layer({
      ...poolOptions,
      maxConnections: embeddedMaxConnections,
      host: embedded.host,
      port: embedded.port,
      database: "postgres",
      username: "postgres",
      password: Redacted.make("postgres")
    })
  })
)

/** Applies the migrations before anything uses the database; a database that stays unreachable stops start-up. */
const migrationsLayer = Layer.effectDiscard(
  migrate.pipe(
    Effect.retry({ schedule: Schedule.exponential("250 millis"), times: 5 }),
    Effect.tap((applied) =>
      applied.length > 0
        ? Effect.logInfo(`Applied migrations: ${applied.map(([id, name]) => `${id}_${name}`).join(", ")}`)
        : Effect.void
    ),
    Effect.mapError((error) => new Error(`Database migrations failed: ${error.message}`, { cause: error }))
  )
)

export const layer: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, Error, GatewayConfig> = migrationsLayer.pipe(
  Layer.provideMerge(clientLayer)
)
