/**
 * The wire format of every non-2xx response: the spec's body, extended with OpenAI's
 * `error` object so that OpenAI SDKs show the message too.
 *
 *   {"detail": "...", "code": 401, "error_type": "authentication_error",
 *    "error": {"message": "...", "type": "authentication_error", "param": null, "code": null}}
 */
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as Errors from "../domain/errors.ts"

export interface WireError {
  readonly detail: string
  readonly code: number
  readonly error_type: string
  readonly error: {
    readonly message: string
    readonly type: string
    readonly param: string | null
    readonly code: string | null
  }
}

export const toWireBody = (status: number, errorType: string, message: string, param?: string): WireError => ({
  detail: message,
  code: status,
  error_type: errorType,
  error: { message, type: errorType, param: param ?? null, code: null }
})

/** The HTTP schema of one error class: its encoded side is the wire body, its status the class's. */
const wireSchema = <E extends Errors.ApiError>(cls: Errors.ApiErrorClass<E>, identifier: string) =>
  Schema.Struct({
    detail: Schema.String,
    code: Schema.Literal(cls.status),
    error_type: Schema.Literal(cls.errorType),
    error: Schema.Struct({
      message: Schema.String,
      type: Schema.Literal(cls.errorType),
      param: Schema.NullOr(Schema.String),
      code: Schema.NullOr(Schema.String)
    })
  }).pipe(
    Schema.decodeTo(
      Schema.declare((u): u is E => u instanceof cls),
      SchemaTransformation.transform({
        decode: (wire) =>
          new cls(
            wire.error.param === null ? { message: wire.detail } : { message: wire.detail, param: wire.error.param }
          ),
        encode: (error) => toWireBody(cls.status, cls.errorType, error.message, error.param) as never
      })
    ),
    Schema.annotate({ httpApiStatus: cls.status, identifier, description: `${cls.status} ${cls.errorType}` })
  )

export const ValidationError = wireSchema(Errors.ValidationError, "ValidationError")
export const AuthenticationError = wireSchema(Errors.AuthenticationError, "AuthenticationError")
export const InsufficientBalance = wireSchema(Errors.InsufficientBalance, "InsufficientBalance")
export const PermissionDenied = wireSchema(Errors.PermissionDenied, "PermissionDenied")
export const NotFound = wireSchema(Errors.NotFound, "NotFound")
export const MethodNotAllowed = wireSchema(Errors.MethodNotAllowed, "MethodNotAllowed")
export const RequestTooLarge = wireSchema(Errors.RequestTooLarge, "RequestTooLarge")
export const UnsupportedMediaType = wireSchema(Errors.UnsupportedMediaType, "UnsupportedMediaType")
export const RateLimited = wireSchema(Errors.RateLimited, "RateLimited")
export const InternalError = wireSchema(Errors.InternalError, "InternalError")
export const UpstreamError = wireSchema(Errors.UpstreamError, "UpstreamError")
export const ServiceUnavailable = wireSchema(Errors.ServiceUnavailable, "ServiceUnavailable")
export const GatewayTimeout = wireSchema(Errors.GatewayTimeout, "GatewayTimeout")

/** A wire-format response for errors raised outside endpoint handlers (routing, body parsing, defects). */
export const errorResponse = (error: Errors.ApiError): HttpServerResponse.HttpServerResponse => {
  const status = Errors.statusOf(error)
  const headers: Record<string, string> = {}
  if (error.retryAfterSeconds !== undefined) headers["retry-after"] = String(error.retryAfterSeconds)
  if (status === 413) headers["connection"] = "close"
  return HttpServerResponse.jsonUnsafe(toWireBody(status, Errors.errorTypeOf(error), error.message, error.param), {
    status,
    headers
  })
}
