import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Metrics } from "../../services/metrics/Metrics.ts"
import { RateLimiter } from "../../services/ratelimit/RateLimiter.ts"
import { CircuitBreakers } from "../../services/resilience/CircuitBreakers.ts"
import { Api } from "../Api.ts"

/**
 * The exposition text of this process; what other services only know when asked (limiter, breakers) is read
 * per scrape.
 */
export const makeScrape = Effect.gen(function* () {
  const metrics = yield* Metrics
  const limiter = yield* RateLimiter
  const breakers = yield* CircuitBreakers
  return Effect.gen(function* () {
    const [refusals, storage, snapshot] = yield* Effect.all([limiter.refusals, limiter.storage, breakers.snapshot])
    return yield* metrics.render({ refusals, storage, breakers: snapshot })
  })
})

/** Prometheus text format; who may read it is the MetricsAccess middleware's decision. */
export const MetricsHandlers = HttpApiBuilder.group(
  Api,
  "metrics",
  Effect.fnUntraced(function* (handlers) {
    const scrape = yield* makeScrape
    return handlers.handle("metrics", () => scrape)
  })
)
