/**
 * The last hour of API traffic, minute by minute, kept in process for the dashboard's operator view: an
 * operator sees the gateway's request rate, error rate and overhead without an external Prometheus. The
 * request path only adds to the current minute's counters; the minutes are read into a response on demand.
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import type { ModelTraffic, TrafficMinute } from "../../domain/Traffic.ts"

/** Minutes remembered. */
export const minutes = 60

const minuteMs = 60_000

/** What the history needs to know about a finished request. */
export interface FinishedRequest {
  readonly status: number
  /** A stream that failed after its 200. */
  readonly failedMidway: boolean
  /** Chat requests: the requested model, its upstream phase and the gateway's own time. */
  readonly model: string | undefined
  readonly upstreamMs: number
  readonly overheadMs: number | undefined
}

class ModelMinute {
  requests = 0
  errors = 0
  upstreamMs = 0
}

class Minute {
  index = -1
  requests = 0
  errors = 0
  clientErrors = 0
  chatRequests = 0
  overheadSum = 0
  overheadCount = 0
  overheadMax = 0
  readonly models = new Map<string, ModelMinute>()

  reset(index: number): void {
    this.index = index
    this.requests = this.errors = this.clientErrors = this.chatRequests = 0
    this.overheadSum = this.overheadCount = this.overheadMax = 0
    this.models.clear()
  }
}

const rounded = (ms: number): number => Math.round(ms * 100) / 100

export class TrafficHistory {
  /** Slot `index % minutes` holds minute `index` (epoch minutes), unless a newer minute has reused it. */
  readonly #slots = Array.from({ length: minutes }, () => new Minute())

  /** Adds a finished request to the minute of `now` (epoch milliseconds). */
  add(now: number, request: FinishedRequest): void {
    const index = Math.floor(now / minuteMs)
    const slot = this.#slots[index % minutes]!
    if (slot.index !== index) slot.reset(index)
    slot.requests++
    const failed = request.status >= 500 || request.failedMidway
    if (failed) slot.errors++
    else if (request.status >= 400) slot.clientErrors++
    if (request.model === undefined) return
    slot.chatRequests++
    if (request.overheadMs !== undefined) {
      slot.overheadSum += request.overheadMs
      slot.overheadCount++
      if (request.overheadMs > slot.overheadMax) slot.overheadMax = request.overheadMs
    }
    let model = slot.models.get(request.model)
    if (model === undefined) slot.models.set(request.model, (model = new ModelMinute()))
    model.requests++
    if (failed) model.errors++
    model.upstreamMs += request.upstreamMs
  }

  /** The hour ending with the minute of `now`, oldest first. */
  minutes(now: number): Array<TrafficMinute> {
    const last = Math.floor(now / minuteMs)
    const result: Array<TrafficMinute> = []
    for (let index = last - minutes + 1; index <= last; index++) {
      const slot = this.#slots[index % minutes]!
      const current = slot.index === index
      result.push({
        start: new Date(index * minuteMs).toISOString(),
        requests: current ? slot.requests : 0,
        errors: current ? slot.errors : 0,
        client_errors: current ? slot.clientErrors : 0,
        chat_requests: current ? slot.chatRequests : 0,
        overhead_ms_avg: current && slot.overheadCount > 0 ? rounded(slot.overheadSum / slot.overheadCount) : null,
        overhead_ms_max: current && slot.overheadCount > 0 ? rounded(slot.overheadMax) : null
      })
    }
    return result
  }

  /** Per requested model over the hour ending with the minute of `now`, by name (recent attempts left at 0). */
  models(now: number): Array<ModelTraffic> {
    const last = Math.floor(now / minuteMs)
    const totals = new Map<string, ModelMinute>()
    for (const slot of this.#slots) {
      if (slot.index <= last - minutes || slot.index > last) continue
      for (const [name, counts] of slot.models) {
        let total = totals.get(name)
        if (total === undefined) totals.set(name, (total = new ModelMinute()))
        total.requests += counts.requests
        total.errors += counts.errors
        total.upstreamMs += counts.upstreamMs
      }
    }
    return [...totals.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([model, total]) => ({
        model,
        requests: total.requests,
        errors: total.errors,
        upstream_ms_avg: rounded(total.upstreamMs / total.requests),
        recent_attempts: 0,
        recent_failures: 0
      }))
  }
}

/** The process's traffic history: one instance, written by `Telemetry`, read by the admin endpoint. */
export class Traffic extends Context.Service<Traffic, TrafficHistory>()("gateway/Traffic") {
  static readonly layer = Layer.sync(Traffic, () => new TrafficHistory())
}
