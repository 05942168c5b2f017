/**
 * The HTTP server: the HttpApi routes, the OpenAPI document and docs, and one global
 * middleware that gives every response a request id and turns whatever escaped the
 * routes (unknown paths, defects) into our error format.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as ByteSize from "effect/ByteSize"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as ErrorReporter from "effect/ErrorReporter"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import * as HttpMiddleware from "effect/http/HttpMiddleware"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerError from "effect/http/HttpServerError"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import * as HttpApiScalar from "effect/http-api/HttpApiScalar"
import { createServer } from "node:http"
import { GatewayConfig } from "../Config.ts"
import * as Errors from "../domain/errors.ts"
import * as Authentication from "./Authentication.ts"
import * as Dashboard from "./Dashboard.ts"
import { Api } from "./Api.ts"
import { errorResponse } from "./Errors.ts"
import { AdminHandlers } from "./handlers/Admin.ts"
import { BillingHandlers } from "./handlers/Billing.ts"
import { ChatHandlers } from "./handlers/Chat.ts"
import { EmbeddingsHandlers } from "./handlers/Embeddings.ts"
import { HealthHandlers } from "./handlers/Health.ts"
import { MetricsHandlers } from "./handlers/Metrics.ts"
import * as MetricsAccess from "./MetricsAccess.ts"
import * as MetricsServer from "./MetricsServer.ts"
import { MessagesCountHandlers, MessagesHandlers } from "./handlers/Messages.ts"
import { anthropicErrorResponse } from "./messages/errors.ts"
import { ModelsHandlers } from "./handlers/Models.ts"
import * as IdempotencyKeys from "./IdempotencyKeys.ts"
import * as RateLimit from "./RateLimit.ts"
import { clientRequestIdOf, newRequestId, RequestId } from "./RequestContext.ts"
import * as RequestErrors from "./RequestErrors.ts"
import * as RouteTemplates from "./Routes.ts"
import { CurrentRequest, type RequestRecord } from "../services/telemetry/RequestRecord.ts"
import { Telemetry } from "../services/telemetry/Telemetry.ts"

/** 405 naming the allowed methods when the path exists, else 404. */
const routeNotFound = (
  request: HttpServerRequest.HttpServerRequest,
  record: RequestRecord
): Errors.NotFound | Errors.MethodNotAllowed => {
  const allowed = RouteTemplates.methodsOf(record.route)
  // The router also refuses a path whose parameter is too long (over 100 characters): not found, whatever the method.
  return allowed.length === 0 || allowed.includes(request.method)
    ? new Errors.NotFound({
        message: `Not found: ${request.method} ${Errors.quoted(RouteTemplates.pathOf(request.url), 200)}`
      })
    : new Errors.MethodNotAllowed({
        message: `Method ${request.method} is not allowed here; use ${allowed.join(", ")}`
      })
}

/** The error a failure no endpoint turned into a response stands for; a defect is an internal error. */
const failureOf = (
  cause: Cause.Cause<unknown>,
  request: HttpServerRequest.HttpServerRequest,
  record: RequestRecord
): Errors.ApiError => {
  const error = Cause.squash(cause)
  if (HttpServerError.isHttpServerError(error) && error.reason._tag === "RouteNotFound")
    return routeNotFound(request, record)
  if (RequestErrors.isBodyTooLarge(error)) return RequestErrors.bodyTooLarge()
  if (Errors.isApiError(error)) return error
  record.defect = cause
  return new Errors.InternalError({ message: `Internal server error (request id: ${record.requestId})` })
}

const failureResponse = (
  cause: Cause.Cause<unknown>,
  request: HttpServerRequest.HttpServerRequest,
  record: RequestRecord
): Effect.Effect<HttpServerResponse.HttpServerResponse, unknown> => {
  if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
  const error = failureOf(cause, request, record)
  record.error = error
  // Anthropic's clients read Anthropic's error format on the Messages routes.
  const render = RouteTemplates.isMessagesPath(request.url)
    ? (error: Errors.ApiError) =>
        HttpServerResponse.setHeader(anthropicErrorResponse(error), "request-id", record.requestId)
    : errorResponse
  const response =
    error instanceof Errors.MethodNotAllowed
      ? HttpServerResponse.setHeader(render(error), "allow", RouteTemplates.methodsOf(record.route).join(", "))
      : render(error)
  if (record.defect === undefined) return Effect.succeed(response)
  return Effect.as(
    Effect.logError("Unhandled failure", cause).pipe(
      Effect.annotateLogs({ request_id: record.requestId, route: record.route }),
      // A defect the handlers' reporting already saw is not reported twice (ErrorReporter remembers it). The
      // reporter tags it from the request's record, which this recovery runs outside of.
      Effect.andThen(Effect.provideService(ErrorReporter.report(cause), CurrentRequest, record))
    ),
    response
  )
}

/**
 * Every request: an id, a record of what it did (finished when its scope closes — after a
 * stream's last byte and its settlement — into metrics, a log line and the exporters), and
 * our error format for whatever escaped the routes.
 */
const GlobalMiddleware = Layer.unwrap(
  Effect.gen(function* () {
    const { server } = yield* GatewayConfig
    const telemetry = yield* Telemetry
    const maxBodySize = ByteSize.bytes(server.maxBodyBytes)
    return HttpRouter.middleware(
      (httpEffect) =>
        Effect.gen(function* () {
          const request = yield* HttpServerRequest.HttpServerRequest
          const requestId = newRequestId()
          const clientRequestId = clientRequestIdOf(request.headers)
          const record = telemetry.begin(request.method, RouteTemplates.templateOf(request.url), requestId)
          record.clientRequestId = clientRequestId
          // Added before the handler's finalizers (a stream's settlement), so it runs after them.
          yield* Scope.addFinalizerExit(yield* Scope.Scope, (exit) => telemetry.finish(record, exit))
          const response = yield* httpEffect.pipe(
            Effect.provideService(RequestId, requestId),
            Effect.provideService(CurrentRequest, record),
            Effect.provideService(HttpIncomingMessage.MaxBodySize, maxBodySize),
            Effect.catchCause((cause) => failureResponse(cause, request, record))
          )
          telemetry.responded(record, response.status)
          const identified = HttpServerResponse.setHeader(response, "x-request-id", requestId)
          return clientRequestId === undefined
            ? identified
            : HttpServerResponse.setHeader(identified, "x-client-request-id", clientRequestId)
        }),
      { global: true }
    )
  })
)

const ApiRoutes = HttpApiBuilder.layer(Api, { openapiPath: "/openapi.json" }).pipe(
  Layer.provide([
    ChatHandlers,
    EmbeddingsHandlers,
    MessagesHandlers,
    MessagesCountHandlers,
    ModelsHandlers,
    BillingHandlers,
    AdminHandlers,
    HealthHandlers,
    MetricsHandlers
  ]),
  Layer.provide([
    Authentication.layer,
    Authentication.messagesLayer,
    RateLimit.layer,
    RateLimit.messagesLayer,
    RateLimit.readLayer,
    RateLimit.messagesReadLayer,
    IdempotencyKeys.layer,
    IdempotencyKeys.messagesLayer,
    RequestErrors.layer,
    RequestErrors.messagesLayer,
    MetricsAccess.layer
  ])
)

const DocsRoute = HttpApiScalar.layer(Api, { path: "/docs" })

/** All routes, ready for `HttpRouter.serve` or `HttpRouter.toWebHandler`. */
export const Routes = Layer.mergeAll(ApiRoutes, DocsRoute, Dashboard.layer, GlobalMiddleware)

/**
 * Server spans (when tracing is on) are named per the HTTP semantic conventions: method and route template, never
 * the raw path.
 */
const serverSpanNames = Layer.succeed(
  HttpMiddleware.SpanNameGenerator,
  (request) => `${request.method} ${RouteTemplates.templateOf(request.url)}`
)

export const layer = Layer.unwrap(
  Effect.gen(function* () {
    const { server } = yield* GatewayConfig
    return HttpRouter.serve(Routes, { disableLogger: true }).pipe(
      Layer.provide(serverSpanNames),
      Layer.provideMerge(MetricsServer.layer),
      Layer.provideMerge(
        NodeHttpServer.layer(createServer, {
          port: server.port,
          host: server.host,
          gracefulShutdownTimeout: server.shutdownTimeout
        })
      )
    )
  })
)
