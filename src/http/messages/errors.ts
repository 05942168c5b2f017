/**
 * Anthropic's error format, for every failure on the Messages routes
 * (https://docs.anthropic.com/en/api/errors):
 *
 *   {"type": "error", "error": {"type": "invalid_request_error", "message": "..."}}
 *
 * Each gateway error keeps its meaning and takes Anthropic's status and type for it; the one status that
 * changes is 503 (the upstream is overloaded or refused, a breaker is open, the ledger is unreachable), which
 * Anthropic calls 529 `overloaded_error`. `Retry-After` is kept; the request id goes in Anthropic's
 * `request-id` header (set by the Messages middleware).
 */
import * as Schema from "effect/Schema"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as HttpApiSchema from "effect/http-api/HttpApiSchema"
import type { ApiError, ApiErrorClass } from "../../domain/errors.ts"

export interface AnthropicErrorKind {
  readonly status: number
  readonly type: string
}

/** Anthropic's status and error type of each gateway error. */
export const anthropicKinds: { readonly [Tag in ApiError["_tag"]]: AnthropicErrorKind } = {
  ValidationError: { status: 400, type: "invalid_request_error" },
  AuthenticationError: { status: 401, type: "authentication_error" },
  InsufficientBalance: { status: 402, type: "billing_error" },
  PermissionDenied: { status: 403, type: "permission_error" },
  NotFound: { status: 404, type: "not_found_error" },
  MethodNotAllowed: { status: 405, type: "invalid_request_error" },
  // Anthropic has no idempotency keys, so no types for them: their statuses, as requests Anthropic would refuse.
  IdempotencyConflict: { status: 409, type: "invalid_request_error" },
  IdempotencyMismatch: { status: 422, type: "invalid_request_error" },
  RequestTooLarge: { status: 413, type: "request_too_large" },
  UnsupportedMediaType: { status: 415, type: "invalid_request_error" },
  RateLimited: { status: 429, type: "rate_limit_error" },
  InternalError: { status: 500, type: "api_error" },
  UpstreamError: { status: 502, type: "api_error" },
  ServiceUnavailable: { status: 529, type: "overloaded_error" },
  GatewayTimeout: { status: 504, type: "timeout_error" }
}

export interface AnthropicWireError {
  readonly type: "error"
  readonly error: { readonly type: string; readonly message: string }
}

export const toAnthropicWire = (error: ApiError): AnthropicWireError => ({
  type: "error",
  error: { type: anthropicKinds[error._tag].type, message: error.message }
})

/**
 * An error class as the Messages endpoints declare it: Anthropic's body at Anthropic's status, and
 * `Retry-After` when the error carries one (the counterpart of `declared` in `../Errors.ts`).
 */
export const anthropicDeclared = <E extends ApiError>(cls: ApiErrorClass<E>) => {
  const kind = anthropicKinds[cls.identifier as ApiError["_tag"]]
  const body = Schema.Struct({
    type: Schema.Literal("error"),
    error: Schema.Struct({ type: Schema.Literal(kind.type), message: Schema.String })
  }).annotate({
    httpApiStatus: kind.status,
    identifier: `Anthropic${cls.identifier}`,
    description: `${kind.status} ${kind.type}`
  })
  // The class's own description names the gateway's error type; OpenAPI shows Anthropic's.
  const described = cls.annotate({ description: `${kind.status} ${kind.type}` }) as unknown as ApiErrorClass<E>
  return described.pipe(
    HttpApiSchema.encodeToWithHeaders(
      { body, headers: { "retry-after": Schema.optionalKey(Schema.Int) } },
      {
        decode: ({ body, headers }) =>
          new cls({
            message: body.error.message,
            ...(headers["retry-after"] === undefined ? {} : { retryAfterSeconds: headers["retry-after"] })
          }),
        encode: (error) => ({
          body: { type: "error" as const, error: { type: kind.type, message: error.message } },
          headers: error.retryAfterSeconds === undefined ? {} : { "retry-after": error.retryAfterSeconds }
        })
      }
    )
  )
}

/** An Anthropic-format response for errors raised outside the endpoints (defects, unknown paths under the routes). */
export const anthropicErrorResponse = (error: ApiError): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.jsonUnsafe(toAnthropicWire(error), {
    status: anthropicKinds[error._tag].status,
    headers: {
      ...(error.retryAfterSeconds === undefined ? {} : { "retry-after": String(error.retryAfterSeconds) }),
      ...(error.status === 413 ? { connection: "close" } : {})
    }
  })
