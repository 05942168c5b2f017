/**
 * What a scrape of /metrics answers, on either listener: this process's series, or, in a worker of several
 * (WEB_CONCURRENCY > 1), every worker's merged (ClusterMetrics.ts). What other services only know when asked
 * (limiter, breakers) is read per scrape.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import cluster from "node:cluster"
import { ServiceUnavailable } from "../../domain/errors.ts"
import { RateLimiter } from "../ratelimit/RateLimiter.ts"
import { CircuitBreakers } from "../resilience/CircuitBreakers.ts"
import { serveWorker } from "./ClusterMetrics.ts"
import { Metrics } from "./Metrics.ts"

export class MetricsScrape extends Context.Service<
  MetricsScrape,
  { readonly scrape: Effect.Effect<string, ServiceUnavailable> }
>()("gateway/MetricsScrape") {
  static readonly layer = Layer.effect(
    MetricsScrape,
    Effect.gen(function* () {
      const metrics = yield* Metrics
      const limiter = yield* RateLimiter
      const breakers = yield* CircuitBreakers
      const snapshot = Effect.map(
        Effect.all([limiter.refusals, limiter.storage, breakers.snapshot]),
        ([refusals, storage, breakerStates]) => ({ refusals, storage, breakers: breakerStates })
      )
      if (!cluster.isWorker) return MetricsScrape.of({ scrape: Effect.flatMap(snapshot, metrics.render) })

      const worker = serveWorker(() => Effect.runPromise(Effect.flatMap(snapshot, metrics.collect)))
      yield* Effect.addFinalizer(() => Effect.sync(worker.stop))
      return MetricsScrape.of({
        scrape: Effect.mapError(
          worker.scrape,
          (error) =>
            new ServiceUnavailable({ message: `The metrics of every worker could not be collected: ${error.message}` })
        )
      })
    })
  ).pipe(Layer.provide([Metrics.layer, RateLimiter.layer, CircuitBreakers.layer]))
}
