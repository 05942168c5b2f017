/**
 * The HTTP server: the HttpApi routes, the OpenAPI document and docs, and one global
 * middleware that gives every response a request id and turns whatever escaped the
 * routes (unknown paths, defects) into our error format.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { ByteSize, Cause, Duration, Effect, Layer } from "effect"
import { HttpIncomingMessage, HttpRouter, HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiBuilder, HttpApiScalar } from "effect/http-api"
import { createServer } from "node:http"
import { GatewayConfig } from "../Config.ts"
import * as Errors from "../domain/errors.ts"
import { Api } from "./Api.ts"
import * as Authentication from "./Authentication.ts"
import { errorResponse } from "./Errors.ts"
import { BillingHandlers } from "./handlers/Billing.ts"
import { ChatHandlers } from "./handlers/Chat.ts"
import { HealthHandlers } from "./handlers/Health.ts"
import { MetricsHandlers } from "./handlers/Metrics.ts"
import { ModelsHandlers } from "./handlers/Models.ts"
import * as RateLimit from "./RateLimit.ts"
import { chooseRequestId, RequestId } from "./RequestContext.ts"
import * as RequestErrors from "./RequestErrors.ts"

const extraRoutes = [
  { method: "GET", path: "/openapi.json" },
  { method: "GET", path: "/docs" }
]

/** Every route's method and path pattern, to tell 405 from 404. */
const routes = [
  ...Object.values(Api.groups).flatMap((group) =>
    Object.values(group.endpoints).map((endpoint) => ({ method: endpoint.method, path: endpoint.path as string }))
  ),
  ...extraRoutes
].map(({ method, path }) => ({
  method,
  pattern: new RegExp(`^${path.replace(/:[^/]+/g, "[^/]+")}/?$`)
}))

const allowedMethods = (url: string): ReadonlyArray<string> => {
  const path = url.split("?")[0]!
  return routes.filter((route) => route.pattern.test(path)).map((route) => route.method)
}

const routeNotFound = (request: HttpServerRequest.HttpServerRequest): HttpServerResponse.HttpServerResponse => {
  const allowed = allowedMethods(request.url)
  if (allowed.length === 0) {
    return errorResponse(new Errors.NotFound({ message: `Not found: ${request.method} ${request.url.split("?")[0]}` }))
  }
  return HttpServerResponse.setHeader(
    errorResponse(
      new Errors.MethodNotAllowed({
        message: `Method ${request.method} is not allowed here; use ${allowed.join(", ")}`
      })
    ),
    "allow",
    allowed.join(", ")
  )
}

const isBodyTooLarge = (u: unknown) =>
  HttpServerError.isHttpServerError(u) && u.reason._tag === "RequestParseError" && u.reason.reason === "BodyTooLarge"

/** The response for a failure no endpoint turned into one. */
const failureResponse = (
  cause: Cause.Cause<unknown>,
  request: HttpServerRequest.HttpServerRequest,
  requestId: string
): Effect.Effect<HttpServerResponse.HttpServerResponse, unknown> => {
  if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
  const error = Cause.squash(cause)
  if (HttpServerError.isHttpServerError(error) && error.reason._tag === "RouteNotFound") {
    return Effect.succeed(routeNotFound(request))
  }
  if (isBodyTooLarge(error))
    return Effect.succeed(errorResponse(new Errors.RequestTooLarge({ message: "Request body is too large" })))
  if (Errors.isApiError(error)) return Effect.succeed(errorResponse(error))
  return Effect.as(
    Effect.logError("Unhandled failure", cause).pipe(
      Effect.annotateLogs({ requestId, route: request.url.split("?")[0] })
    ),
    errorResponse(new Errors.InternalError({ message: `Internal server error (request id: ${requestId})` }))
  )
}

const GlobalMiddleware = Layer.unwrap(
  Effect.gen(function* () {
    const { server } = yield* GatewayConfig
    const maxBodySize = ByteSize.bytes(server.maxBodyBytes)
    return HttpRouter.middleware(
      (httpEffect) =>
        Effect.gen(function* () {
          const request = yield* HttpServerRequest.HttpServerRequest
          const requestId = chooseRequestId(request.headers["x-request-id"])
          const response = yield* httpEffect.pipe(
            Effect.provideService(RequestId, requestId),
            Effect.provideService(HttpIncomingMessage.MaxBodySize, maxBodySize),
            Effect.catchCause((cause) => failureResponse(cause, request, requestId))
          )
          return HttpServerResponse.setHeader(response, "x-request-id", requestId)
        }),
      { global: true }
    )
  })
)

const ApiRoutes = HttpApiBuilder.layer(Api, { openapiPath: "/openapi.json" }).pipe(
  Layer.provide([ChatHandlers, ModelsHandlers, BillingHandlers, HealthHandlers, MetricsHandlers]),
  Layer.provide([Authentication.layer, RateLimit.layer, RequestErrors.layer])
)

const DocsRoute = HttpApiScalar.layer(Api, { path: "/docs" })

/** All routes, ready for `HttpRouter.serve` or `HttpRouter.toWebHandler`. */
export const Routes = Layer.mergeAll(ApiRoutes, DocsRoute, GlobalMiddleware)

export const layer = Layer.unwrap(
  Effect.gen(function* () {
    const { server } = yield* GatewayConfig
    return HttpRouter.serve(Routes, { disableLogger: true }).pipe(
      Layer.provideMerge(
        NodeHttpServer.layer(createServer, {
          port: server.port,
          host: server.host,
          gracefulShutdownTimeout: Duration.millis(server.shutdownTimeoutMs)
        })
      )
    )
  })
)
