/**
 * The Prometheus metrics of the gateway (prom-client, one registry per gateway). The series
 * of the spec keep the spec's names and labels; every label value is bounded: catalog model
 * ids, provider names, route templates, methods, status codes and fixed enumerations — never
 * a request id, a raw path or an unknown model name. Label children are created once and
 * cached, so recording a request is a few map lookups and increments.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { collectDefaultMetrics, type Counter, type Histogram, Registry } from "prom-client"
import { GatewayConfig } from "../../Config.ts"
import type * as Money from "../../domain/Money.ts"
import { balanceSeries, type WorkerSeries } from "./ClusterMetrics.ts"
import { type Instruments, makeInstruments } from "./Instruments.ts"
import { ModelCatalog } from "../registry/ModelCatalog.ts"
import { ProviderRegistry } from "../registry/ProviderRegistry.ts"
import { type RefusalType, refusalTypes } from "../ratelimit/Policy.ts"

export type RequestStatus = "success" | "error" | "cancelled"

/** The series of one catalog model, created at start-up. */
export interface ModelSeries {
  readonly provider: string
  readonly requests: Readonly<Record<RequestStatus, Counter.Internal>>
  readonly duration: Histogram.Internal<string>
  readonly promptTokens: Counter.Internal
  readonly completionTokens: Counter.Internal
  readonly cost: Counter.Internal
  readonly uncollected: Counter.Internal
  readonly unsettled: Counter.Internal
  readonly upstreamLatency: Histogram.Internal<string>
  readonly timeToFirstToken: Histogram.Internal<string>
}

/** The series of one route template and method; a status code's counter is created on first use. */
export class RouteSeries {
  readonly #statuses = new Map<number, Counter.Internal>()
  readonly #counter: Counter
  readonly #duration: Histogram.Internal<string>
  readonly #labels: { readonly route: string; readonly method: string }

  constructor(counter: Counter, histogram: Histogram, route: string, method: string) {
    this.#counter = counter
    this.#labels = { route, method }
    this.#duration = histogram.labels(this.#labels)
  }

  observe(status: number, seconds: number): void {
    let counter = this.#statuses.get(status)
    if (counter === undefined) {
      counter = this.#counter.labels({ ...this.#labels, status: String(status) })
      this.#statuses.set(status, counter)
    }
    counter.inc()
    this.#duration.observe(seconds)
  }
}

/** What the gateway knows only when asked: read at each scrape. */
export interface Snapshot {
  readonly refusals: Readonly<Record<RefusalType, number>>
  readonly storage: "redis" | "memory"
  readonly breakers: ReadonlyArray<{ readonly model: string; readonly state: keyof typeof breakerStateValue }>
}

export const breakerStateValue = { closed: 0, half_open: 1, open: 2 } as const

/** A counter child, exported at 0 from the start: a series that exists before its first event. */
const counter = <L extends string>(metric: Counter<L>, labels: Partial<Record<L, string>>): Counter.Internal => {
  const child = metric.labels(labels)
  child.inc(0)
  return child
}

const histogram = <L extends string>(
  metric: Histogram<L>,
  labels: Partial<Record<L, string>>
): Histogram.Internal<L> => {
  metric.zero(labels)
  return metric.labels(labels)
}

export class Metrics extends Context.Service<
  Metrics,
  {
    readonly registry: Registry
    readonly instruments: Instruments
    /** The series of a catalog model; undefined for anything else. */
    readonly model: (id: string) => ModelSeries | undefined
    /** The series of a route template and method. */
    readonly route: (template: string, method: string) => RouteSeries
    /** Sets a user's balance, keeping at most METRICS_BALANCE_SERIES_LIMIT users (the most recently changed). */
    readonly balanceChanged: (userId: string, balance: Money.Nanos) => void
    /** The exposition text, after taking in what is read at scrape time. */
    readonly render: (snapshot: Snapshot) => Effect.Effect<string>
    /** The same series as JSON, balances apart, for merging with other workers' (ClusterMetrics.ts). */
    readonly collect: (snapshot: Snapshot) => Effect.Effect<WorkerSeries>
  }
>()("gateway/Metrics") {
  static readonly layer = Layer.effect(
    Metrics,
    Effect.gen(function* () {
      const { observability } = yield* GatewayConfig
      const catalog = yield* ModelCatalog
      const registry = yield* ProviderRegistry
      const prometheus = new Registry()
      collectDefaultMetrics({ register: prometheus })
      // Gauges named like counters fail `promtool check metrics`; the same numbers remain by type.
      for (const total of [
        "nodejs_active_handles_total",
        "nodejs_active_requests_total",
        "nodejs_active_resources_total"
      ]) {
        prometheus.removeSingleMetric(total)
      }
      const instruments = makeInstruments(prometheus)

      const models = new Map<string, ModelSeries>()
      for (const model of catalog.models) {
        const provider = registry.providerOf(model).name
        const labels = { model: model.id }
        models.set(model.id, {
          provider,
          requests: {
            success: counter(instruments.requests, { ...labels, status: "success" }),
            error: counter(instruments.requests, { ...labels, status: "error" }),
            cancelled: counter(instruments.requests, { ...labels, status: "cancelled" })
          },
          duration: histogram(instruments.duration, labels),
          promptTokens: counter(instruments.tokens, { ...labels, type: "prompt" }),
          completionTokens: counter(instruments.tokens, { ...labels, type: "completion" }),
          cost: counter(instruments.cost, labels),
          uncollected: counter(instruments.uncollected, labels),
          unsettled: counter(instruments.unsettled, labels),
          upstreamLatency: histogram(instruments.upstreamLatency, { provider, ...labels }),
          timeToFirstToken: histogram(instruments.timeToFirstToken, { provider, ...labels })
        })
        instruments.breakerState.labels(labels).set(0)
      }
      for (const type of refusalTypes) instruments.rateLimited.labels({ type }).inc(0)
      for (const reason of ["queue_full", "export_failed"]) instruments.langfuseDropped.labels({ reason }).inc(0)
      for (const outcome of ["charged", "released"]) instruments.holdsSwept.labels({ outcome }).inc(0)

      const routes = new Map<string, Map<string, RouteSeries>>()
      const route = (template: string, method: string): RouteSeries => {
        let byMethod = routes.get(template)
        if (byMethod === undefined) routes.set(template, (byMethod = new Map()))
        let series = byMethod.get(method)
        if (series === undefined) {
          series = new RouteSeries(instruments.httpRequests, instruments.httpDuration, template, method)
          byMethod.set(method, series)
        }
        return series
      }

      // Insertion order is recency order: a changed user moves to the end, the first is the stalest. When each was
      // written is kept for merging workers' balances (ClusterMetrics.ts): the latest write wins.
      const balances = new Map<string, { readonly balance: number; readonly at: number }>()
      const balanceChanged = (userId: string, balance: Money.Nanos) => {
        if (observability.balanceSeriesLimit === 0) return
        // A gauge is a float anyway; exact amounts live in the ledger.
        const usd = Number(balance) / 1e9
        balances.delete(userId)
        balances.set(userId, { balance: usd, at: Date.now() })
        instruments.balance.set({ user_id: userId }, usd)
        if (balances.size > observability.balanceSeriesLimit) {
          const stalest = balances.keys().next().value!
          balances.delete(stalest)
          instruments.balance.remove({ user_id: stalest })
        }
      }

      // Counters only go up: the limiter's running totals are added as deltas.
      const seenRefusals = { user_limit: 0, global_limit: 0, read_limit: 0, token_limit: 0 }
      const absorb = (snapshot: Snapshot) => {
        for (const type of refusalTypes) {
          instruments.rateLimited.labels({ type }).inc(Math.max(0, snapshot.refusals[type] - seenRefusals[type]))
          seenRefusals[type] = snapshot.refusals[type]
        }
        instruments.rateLimitStorage.labels({ storage: "redis" }).set(snapshot.storage === "redis" ? 1 : 0)
        instruments.rateLimitStorage.labels({ storage: "memory" }).set(snapshot.storage === "memory" ? 1 : 0)
        for (const breaker of snapshot.breakers) {
          instruments.breakerState.labels({ model: breaker.model }).set(breakerStateValue[breaker.state])
        }
      }
      const render = (snapshot: Snapshot) =>
        Effect.promise(() => {
          absorb(snapshot)
          return prometheus.metrics()
        })
      const collect = (snapshot: Snapshot) =>
        Effect.promise(async (): Promise<WorkerSeries> => {
          absorb(snapshot)
          const metrics = (await prometheus.getMetricsAsJSON()).filter((metric) => metric.name !== balanceSeries.name)
          return { metrics, balances: Array.from(balances, ([user, { balance, at }]) => [user, balance, at] as const) }
        })

      return Metrics.of({
        registry: prometheus,
        instruments,
        model: (id) => models.get(id),
        route,
        balanceChanged,
        render,
        collect
      })
    })
  ).pipe(Layer.provide([ModelCatalog.layer, ProviderRegistry.layer]))
}
