import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Metrics } from "../../services/metrics/Metrics.ts"
import { RateLimiter } from "../../services/ratelimit/RateLimiter.ts"
import { CircuitBreakers } from "../../services/resilience/CircuitBreakers.ts"
import { Api } from "../Api.ts"

/** Prometheus text format; what other services only know when asked (limiter, breakers) is read per scrape. */
export const MetricsHandlers = HttpApiBuilder.group(
  Api,
  "metrics",
  Effect.fnUntraced(function* (handlers) {
    const metrics = yield* Metrics
    const limiter = yield* RateLimiter
    const breakers = yield* CircuitBreakers
    return handlers.handle("metrics", () =>
      Effect.gen(function* () {
        const [refusals, storage, snapshot] = yield* Effect.all([limiter.refusals, limiter.storage, breakers.snapshot])
        return yield* metrics.render({ refusals, storage, breakers: snapshot })
      })
    )
  })
)
