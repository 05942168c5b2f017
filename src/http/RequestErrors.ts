/**
 * The API-wide middleware that turns what HttpApi reports about a bad request into our
 * errors: schema failures and malformed JSON → 400 naming the field, an oversized body →
 * 413, a non-JSON body → 415. Before anything else reads it, a JSON body nested deeper than
 * `maxJsonDepth` is refused with 400.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as HttpEffect from "effect/http/HttpEffect"
import * as HttpMethod from "effect/http/HttpMethod"
import * as HttpServerError from "effect/http/HttpServerError"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as HttpApiError from "effect/http-api/HttpApiError"
import * as Errors from "../domain/errors.ts"
import { maxJsonDepth, nestsDeeperThan } from "../domain/jsonDepth.ts"
import { describeProblem, firstProblem } from "../domain/validation.ts"
import { CurrentRequest } from "../services/telemetry/RequestRecord.ts"
import { MessagesRequestErrors, RequestErrors } from "./Api.ts"
import { RequestId } from "./RequestContext.ts"

const where: Record<HttpApiError.HttpApiSchemaError["kind"], string> = {
  Params: "path",
  Headers: "headers",
  Query: "query string",
  Payload: "request body",
  Body: "response",
  ResponseHeaders: "response headers"
}

export const schemaErrorToValidation = (error: HttpApiError.HttpApiSchemaError): Errors.ValidationError => {
  const problem = firstProblem(error.cause)
  const message =
    problem.message === "Expected a valid JSON body"
      ? "Invalid JSON in the request body"
      : `Invalid ${where[error.kind]}: ${describeProblem(problem)}`
  return problem.field === undefined
    ? new Errors.ValidationError({ message })
    : new Errors.ValidationError({ message, param: problem.field })
}

/** The platform's refusal of a body over MAX_BODY_SIZE, as a reader's failure or, past a handler, a defect. */
export const isBodyTooLarge = (u: unknown): boolean =>
  HttpServerError.isHttpServerError(u) && u.reason._tag === "RequestParseError" && u.reason.reason === "BodyTooLarge"

export const bodyTooLarge = () => new Errors.RequestTooLarge({ message: "Request body is too large" })

type Translated = Errors.ValidationError | Errors.RequestTooLarge | Errors.UnsupportedMediaType

const translate = <E>(cause: Cause.Cause<E>): Effect.Effect<never, E | Translated> => {
  const failure = Cause.findErrorOption(cause)
  if (failure._tag === "Some") {
    const error: unknown = failure.value
    if (HttpApiError.HttpApiSchemaError.is(error) && error.kind !== "Body" && error.kind !== "ResponseHeaders") {
      return Effect.fail(schemaErrorToValidation(error))
    }
    return Effect.failCause(cause)
  }
  const defect = Cause.findDefect(cause)
  if (defect._tag === "Success" && isBodyTooLarge(defect.success)) return Effect.fail(bodyTooLarge())
  return Effect.failCause(cause)
}

/** Tells the request's record which error the client gets, for the request log, metrics and Sentry. */
const remember = <E>(cause: Cause.Cause<E>) =>
  Effect.map(CurrentRequest, (record) => {
    const failure = Cause.findErrorOption(cause)
    if (failure._tag === "Some" && Errors.isApiError(failure.value)) record.error = failure.value
  })

/**
 * Whether the API's decoder will read the body as JSON, decided as it decides (HttpApiBuilder's decodePayload): a
 * method with a body, and a content type that is JSON in any case, or none at all (it then assumes JSON).
 */
const hasJsonBody = (request: HttpServerRequest.HttpServerRequest) =>
  HttpMethod.hasBody(request.method) && (request.headers["content-type"] ?? "json").toLowerCase().includes("json")

/** The body is read once (the platform caches it), so the decoder that follows parses what was checked here. */
const refuseDeepJson = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  if (!hasJsonBody(request)) return
  const text = yield* Effect.mapError(request.text, (error) =>
    isBodyTooLarge(error)
      ? bodyTooLarge()
      : new Errors.ValidationError({ message: "The request body could not be read" })
  )
  if (nestsDeeperThan(text, maxJsonDepth)) {
    return yield* new Errors.ValidationError({
      message: `Invalid request body: objects and arrays nest deeper than ${maxJsonDepth} levels`
    })
  }
})

export const layer = Layer.succeed(RequestErrors, (httpEffect) =>
  Effect.andThen(refuseDeepJson, httpEffect).pipe(
    Effect.flatMap((response) =>
      response.status === 415
        ? Effect.fail(new Errors.UnsupportedMediaType({ message: "Content-Type must be application/json" }))
        : Effect.succeed(response)
    ),
    Effect.catchCause((cause) => Effect.andThen(remember(cause), translate(cause)))
  )
)

/** The same for the Messages routes, which also name the request in Anthropic's `request-id` header. */
export const messagesLayer = Layer.effect(
  MessagesRequestErrors,
  Effect.map(RequestErrors, (requestErrors) =>
    MessagesRequestErrors.of((httpEffect, options) =>
      Effect.andThen(
        Effect.flatMap(RequestId, (requestId) =>
          HttpEffect.appendPreResponseHandler((_request, response) =>
            Effect.succeed(HttpServerResponse.setHeader(response, "request-id", requestId))
          )
        ),
        requestErrors(httpEffect, options)
      )
    )
  )
).pipe(Layer.provide(layer))
