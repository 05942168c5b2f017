/**
 * The wire format of every error the gateway answers with: the API's body, extended with OpenAI's
 * `error` object so that OpenAI SDKs show the message too. `toWire` is its one encoder: responses,
 * the endpoints' declared errors and SSE error events all go through it.
 *
 *   {"detail": "...", "code": 401, "error_type": "authentication_error",
 *    "error": {"message": "...", "type": "authentication_error", "param": null, "code": null}}
 *
 * `error.code` is OpenAI's machine-readable code (a string); the gateway has none, so it is always null.
 * The status is the top-level `code`.
 */
import * as Schema from "effect/Schema"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as HttpApiSchema from "effect/http-api/HttpApiSchema"
import type { ApiError, ApiErrorClass } from "../domain/errors.ts"

export interface WireError<E extends ApiError = ApiError> {
  readonly detail: string
  readonly code: E["status"]
  readonly error_type: E["errorType"]
  readonly error: {
    readonly message: string
    readonly type: E["errorType"]
    readonly param: string | null
    readonly code: null
  }
}

export const toWire = <E extends ApiError>(error: E): WireError<E> => ({
  detail: error.message,
  code: error.status,
  error_type: error.errorType,
  error: { message: error.message, type: error.errorType, param: error.param ?? null, code: null }
})

/**
 * An error class as endpoints declare it (Effect's `encodeToWithHeaders`): the wire body at the class's
 * status, and `Retry-After` when the error carries one. Declared once per class (see `Api.ts`), so that
 * endpoints and middlewares that share an error share its schema.
 */
export const declared = <E extends ApiError>(cls: ApiErrorClass<E>) => {
  const body = Schema.Struct({
    detail: Schema.String,
    code: Schema.Literal(cls.status),
    error_type: Schema.Literal(cls.errorType),
    error: Schema.Struct({
      message: Schema.String,
      type: Schema.Literal(cls.errorType),
      param: Schema.NullOr(Schema.String),
      code: Schema.Null
    })
  }).annotate({ httpApiStatus: cls.status, identifier: cls.identifier, description: `${cls.status} ${cls.errorType}` })
  return cls.pipe(
    HttpApiSchema.encodeToWithHeaders(
      { body, headers: { "retry-after": Schema.optionalKey(Schema.Int) } },
      {
        decode: ({ body, headers }) =>
          new cls({
            message: body.detail,
            ...(body.error.param === null ? {} : { param: body.error.param }),
            ...(headers["retry-after"] === undefined ? {} : { retryAfterSeconds: headers["retry-after"] })
          }),
        encode: (error) => ({
          body: toWire(error),
          headers: error.retryAfterSeconds === undefined ? {} : { "retry-after": error.retryAfterSeconds }
        })
      }
    )
  )
}

/** A wire-format response for errors raised outside endpoint handlers (routing, body parsing, defects). */
export const errorResponse = (error: ApiError): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.jsonUnsafe(toWire(error), {
    status: error.status,
    headers: {
      ...(error.retryAfterSeconds === undefined ? {} : { "retry-after": String(error.retryAfterSeconds) }),
      // The body was not read to its end: the connection cannot carry another request.
      ...(error.status === 413 ? { connection: "close" } : {})
    }
  })
