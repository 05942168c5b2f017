/**
 * WEB_CONCURRENCY > 1: the launching process becomes the primary of a node:cluster and
 * runs that many workers, each a whole gateway, sharing the port (the primary hands out
 * connections in turn). Limits and balances stay exact across workers because they live
 * in Redis and PostgreSQL, as they do across replicas; without REDIS_URL each worker
 * keeps its own in-process limits.
 *
 * /metrics answers for every worker (services/metrics/ClusterMetrics.ts): the primary
 * collects their series. Circuit breakers stay per worker, with thresholds scaled down
 * by the worker count (CircuitBreakers.ts).
 *
 * A worker that stops before it listens (say, a start-up refusal) stops the primary too,
 * instead of a restart loop; a worker that dies later is replaced. SIGTERM drains every
 * worker, then the primary exits.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import cluster, { type Worker } from "node:cluster"
import * as ClusterMetrics from "./services/metrics/ClusterMetrics.ts"

export class WorkerFailedAtStart extends Schema.TaggedError<WorkerFailedAtStart>()("WorkerFailedAtStart", {
  message: Schema.String
}) {}

const describeExit = (code: number | null, signal: string | null) =>
  signal !== null ? `signal ${signal}` : `code ${code}`

/** Sends SIGTERM to every worker and waits until all have exited. */
const drain = Effect.callback<void>((resume) => {
  const alive = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined)
  let remaining = alive.length
  if (remaining === 0) return resume(Effect.void)
  const onExit = () => {
    if (--remaining === 0) {
      cluster.off("exit", onExit)
      resume(Effect.void)
    }
  }
  cluster.on("exit", onExit)
  for (const worker of alive) worker.process.kill("SIGTERM")
})

const killAll = Effect.sync(() => {
  for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGKILL")
})

/**
 * Runs `count` workers until interrupted (then drains them, SIGKILL after the drain
 * timeout), or fails when a worker stops before it ever listened.
 */
export const runWorkers = (
  count: number,
  drainTimeoutMs: number,
  balanceSeriesLimit: number
): Effect.Effect<never, WorkerFailedAtStart> =>
  Effect.callback<never, WorkerFailedAtStart>((resume) => {
    // Whichever worker a scrape reaches answers for all of them.
    const stopMetrics = ClusterMetrics.servePrimary(balanceSeriesLimit)
    const listening = new Set<number>()
    let stopping = false
    const fork = () => {
      const worker = cluster.fork()
      worker.once("listening", () => listening.add(worker.id))
    }
    const onExit = (worker: Worker, code: number | null, signal: string | null) => {
      if (stopping) return
      if (!listening.has(worker.id)) {
        stopping = true
        cluster.off("exit", onExit)
        stopMetrics()
        resume(
          Effect.andThen(
            killAll,
            Effect.fail(
              new WorkerFailedAtStart({
                message: `A worker stopped before it listened (${describeExit(code, signal)})`
              })
            )
          )
        )
        return
      }
      console.error(`Worker ${worker.process.pid} stopped (${describeExit(code, signal)}); starting another`)
      fork()
    }
    cluster.on("exit", onExit)
    for (let i = 0; i < count; i++) fork()
    return Effect.suspend(() => {
      stopping = true
      cluster.off("exit", onExit)
      stopMetrics()
      return drain.pipe(
        // Workers bound their own drain by SHUTDOWN_TIMEOUT_SECONDS; this only guards against a stuck one.
        Effect.timeoutOrElse({ duration: Duration.millis(drainTimeoutMs + 5_000), orElse: () => killAll })
      )
    })
  })
