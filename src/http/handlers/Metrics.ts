import * as Effect from "effect/Effect"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import { MetricsScrape } from "../../services/metrics/MetricsScrape.ts"
import { Api } from "../Api.ts"

/** Prometheus text format; who may read it is the MetricsAccess middleware's decision. */
export const MetricsHandlers = HttpApiBuilder.group(
  Api,
  "metrics",
  Effect.fnUntraced(function* (handlers) {
    const { scrape } = yield* MetricsScrape
    return handlers.handle("metrics", () => scrape)
  })
)
