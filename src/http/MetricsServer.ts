/**
 * METRICS_PORT: `/metrics` on a listener of its own (say, bound to the pod network only, where Prometheus
 * scrapes), and not on the API's port. Same access rule as the API's route (`MetricsAccess.ts`), same text.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as HttpServer from "effect/http/HttpServer"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import { createServer } from "node:http"
import { GatewayConfig } from "../Config.ts"
import * as Errors from "../domain/errors.ts"
import { errorResponse } from "./Errors.ts"
import * as MetricsAccess from "./MetricsAccess.ts"
import * as RouteTemplates from "./Routes.ts"
import { MetricsScrape } from "../services/metrics/MetricsScrape.ts"

const contentType = "text/plain; version=0.0.4; charset=utf-8"

/** One route, so a plain handler rather than a router (the API's router is a shared layer). */
const handler = Effect.gen(function* () {
  const { observability } = yield* GatewayConfig
  const { scrape } = yield* MetricsScrape
  const metrics = MetricsAccess.check(observability.metrics, "metrics").pipe(
    Effect.andThen(scrape),
    Effect.map((text) => HttpServerResponse.text(text, { contentType })),
    Effect.catch((error) => Effect.succeed(errorResponse(error)))
  )
  return Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    request.method === "GET" && RouteTemplates.pathOf(request.url) === "/metrics"
      ? metrics
      : Effect.succeed(
          errorResponse(
            new Errors.NotFound({
              message: `Not found: ${request.method} ${RouteTemplates.pathOf(request.url)}; this listener serves GET /metrics`
            })
          )
        )
  )
})

/** The metrics listener when METRICS_PORT is set; nothing otherwise. Its server stays private to this layer. */
export const layer = Layer.unwrap(
  Effect.gen(function* () {
    const { observability } = yield* GatewayConfig
    const { port, host } = observability.metrics
    if (port === undefined) return Layer.empty
    return HttpServer.serve(yield* handler).pipe(
      Layer.provide(NodeHttpServer.layer(createServer, { port, host })),
      Layer.tap(() => Effect.logInfo(`Metrics listening on ${host}:${port}`))
    )
  })
)
