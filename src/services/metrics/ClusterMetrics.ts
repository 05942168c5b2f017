/**
 * /metrics with several worker processes (WEB_CONCURRENCY > 1): whichever worker a scrape reaches answers for all
 * of them, so counters never jump backwards between scrapes. The worker asks the primary, the primary asks every
 * worker for its series (as JSON) and merges them with prom-client's cluster aggregation: counters and histograms
 * summed, gauges as each declares (`aggregator`). Balances are merged by recency: a user's latest balance is the
 * one written last, by whichever worker served them last.
 *
 * A scrape fails (503) rather than report part of the workers: a partial sum would look like a counter reset.
 */
import * as Effect from "effect/Effect"
import cluster, { type Worker } from "node:cluster"
import { AggregatorRegistry, Gauge, type MetricObjectWithValues, type MetricValue } from "prom-client"

/** What one worker reports: its series, and its users' balances with when each was written. */
export interface WorkerSeries {
  readonly metrics: ReadonlyArray<MetricObjectWithValues<MetricValue<string>>>
  /** `[user id, balance in USD, epoch ms when written]`. */
  readonly balances: ReadonlyArray<readonly [string, number, number]>
}

/** The one series that is not aggregated by prom-client but merged here (by recency). */
export const balanceSeries = { name: "user_balance", help: "Current user balance" } as const

const messages = {
  /** worker → primary: a scrape wants everyone's metrics. */
  scrape: "gateway:metrics:scrape",
  /** primary → worker: the merged text, or why not. */
  scraped: "gateway:metrics:scraped",
  /** primary → worker: send your series. */
  collect: "gateway:metrics:collect",
  /** worker → primary: its series. */
  collected: "gateway:metrics:collected"
} as const

/** How long the primary waits for every worker's series, and a worker for the primary's answer. */
export const collectTimeoutMs = 3_000

type Message =
  | { readonly type: typeof messages.scrape; readonly id: number }
  | { readonly type: typeof messages.scraped; readonly id: number; readonly text?: string; readonly error?: string }
  | { readonly type: typeof messages.collect; readonly id: number }
  | {
      readonly type: typeof messages.collected
      readonly id: number
      readonly series?: WorkerSeries
      readonly error?: string
    }

const isMessage = (value: unknown): value is Message =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as { type?: unknown }).type === "string" &&
  (value as { type: string }).type.startsWith("gateway:metrics:")

/** The exposition text of the workers' series together; at most `balanceLimit` users, the most recent. */
export const merge = async (all: ReadonlyArray<WorkerSeries>, balanceLimit: number): Promise<string> => {
  const registry = AggregatorRegistry.aggregate(all.map((series) => [...series.metrics]))
  const latest = new Map<string, { readonly balance: number; readonly at: number }>()
  for (const series of all) {
    for (const [user, balance, at] of series.balances) {
      const known = latest.get(user)
      if (known === undefined || at >= known.at) latest.set(user, { balance, at })
    }
  }
  const balances = new Gauge({ ...balanceSeries, labelNames: ["user_id"], registers: [registry] })
  const recent = [...latest].sort((a, b) => b[1].at - a[1].at).slice(0, balanceLimit)
  for (const [user, { balance }] of recent) balances.set({ user_id: user }, balance)
  return registry.metrics()
}

interface Collection {
  /** The worker whose scrape this is, and the id it gave it. */
  readonly from: Worker
  readonly scrapeId: number
  readonly expected: number
  readonly series: Array<WorkerSeries>
  readonly timer: NodeJS.Timeout
}

/** Primary: answers workers' scrapes by collecting every worker's series. Returns the function that stops it. */
export const servePrimary = (balanceLimit: number): (() => void) => {
  let next = 0
  const collections = new Map<number, Collection>()
  const answer = (id: number, collection: Collection, result: { readonly text?: string; readonly error?: string }) => {
    collections.delete(id)
    clearTimeout(collection.timer)
    if (collection.from.isConnected())
      collection.from.send({ type: messages.scraped, id: collection.scrapeId, ...result })
  }
  const onMessage = (worker: Worker, message: unknown) => {
    if (!isMessage(message)) return
    if (message.type === messages.scrape) {
      const workers = Object.values(cluster.workers ?? {}).filter(
        (candidate): candidate is Worker => candidate !== undefined && candidate.isConnected()
      )
      const id = next++
      const collection: Collection = {
        from: worker,
        scrapeId: message.id,
        expected: workers.length,
        series: [],
        timer: setTimeout(
          () => answer(id, collection, { error: "a worker did not report its metrics in time" }),
          collectTimeoutMs
        )
      }
      collections.set(id, collection)
      for (const each of workers) each.send({ type: messages.collect, id })
    } else if (message.type === messages.collected) {
      const collection = collections.get(message.id)
      if (collection === undefined) return
      if (message.error !== undefined) return answer(message.id, collection, { error: message.error })
      collection.series.push(message.series!)
      if (collection.series.length < collection.expected) return
      collections.delete(message.id)
      clearTimeout(collection.timer)
      merge(collection.series, balanceLimit).then(
        (text) => answer(message.id, collection, { text }),
        (error: unknown) => answer(message.id, collection, { error: String(error) })
      )
    }
  }
  cluster.on("message", onMessage)
  return () => {
    cluster.off("message", onMessage)
    for (const collection of collections.values()) clearTimeout(collection.timer)
  }
}

/**
 * Worker: reports its series when the primary collects, and scrapes all workers through the primary. `collect`
 * takes in what is read at scrape time and lists this worker's series. A scrape is bounded, and one whose caller
 * leaves (or times out) forgets its pending answer.
 */
export const serveWorker = (
  collect: () => Promise<WorkerSeries>
): { readonly scrape: Effect.Effect<string, Error>; readonly stop: () => void } => {
  let next = 0
  const waiting = new Map<number, (answer: Effect.Effect<string, Error>) => void>()
  const onMessage = (message: unknown) => {
    if (!isMessage(message)) return
    if (message.type === messages.collect) {
      collect().then(
        (series) => process.send?.({ type: messages.collected, id: message.id, series }),
        (error: unknown) => process.send?.({ type: messages.collected, id: message.id, error: String(error) })
      )
    } else if (message.type === messages.scraped) {
      const resume = waiting.get(message.id)
      if (resume === undefined) return
      waiting.delete(message.id)
      resume(
        message.text !== undefined ? Effect.succeed(message.text) : Effect.fail(new Error(message.error ?? "no answer"))
      )
    }
  }
  process.on("message", onMessage)
  const scrape = Effect.callback<string, Error>((resume) => {
    const id = next++
    waiting.set(id, resume)
    process.send!({ type: messages.scrape, id })
    return Effect.sync(() => waiting.delete(id))
  }).pipe(
    Effect.timeoutOrElse({
      duration: collectTimeoutMs + 1_000,
      orElse: () => Effect.fail(new Error("the primary process did not answer in time"))
    })
  )
  return { scrape, stop: () => process.off("message", onMessage) }
}
