/**
 * The failures a client can see. Each class is declared with its HTTP status (`httpApiStatus`, as Effect's own
 * `HttpApiError` classes are) and the API's `error_type`, and every instance carries both; `http/Errors.ts` is the
 * one place that turns them into the wire format. Client errors (4xx) are marked ignorable for Effect's
 * `ErrorReporter`: only 5xx answers reach Sentry.
 */
import * as ErrorReporter from "effect/ErrorReporter"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * A client-supplied value as an error message quotes it: whole when short, else its start and its length, so that
 * an answer never grows with what a client sent.
 */
export const quoted = (value: string, maximum = 100): string =>
  value.length <= maximum ? `'${value}'` : `'${value.slice(0, maximum)}…' (${value.length} characters)`

const TypeId = "~gateway/ApiError"

const fields = {
  message: Schema.String,
  /** The request field at fault, when there is one (OpenAI's `error.param`). */
  param: Schema.optionalKey(Schema.String),
  /** Seconds the client should wait before retrying; sent as `Retry-After`. */
  retryAfterSeconds: Schema.optionalKey(Schema.Int)
}

/** Declares a client-facing error: a tagged error class with its status and error type, on the class and on each instance. */
const declare = <const Tag extends string, const Status extends number, const Type extends string>(
  tag: Tag,
  status: Status,
  errorType: Type
) => {
  class Declared extends Schema.TaggedError<Declared>()(tag, fields, {
    httpApiStatus: status,
    description: `${status} ${errorType}`
  }) {
    static readonly status = status
    static readonly errorType = errorType
    get [TypeId](): typeof TypeId {
      return TypeId
    }
    get status(): Status {
      return status
    }
    get errorType(): Type {
      return errorType
    }
    override get [ErrorReporter.ignore](): boolean {
      return status < 500
    }
    /** What an error report is tagged with (`services/telemetry/Sentry.ts`). */
    override get [ErrorReporter.attributes]() {
      return { status, error_type: errorType }
    }
  }
  return Declared
}

export class ValidationError extends declare("ValidationError", 400, "validation_error") {}
export class AuthenticationError extends declare("AuthenticationError", 401, "authentication_error") {}
export class InsufficientBalance extends declare("InsufficientBalance", 402, "insufficient_balance") {}
export class PermissionDenied extends declare("PermissionDenied", 403, "permission_error") {}
export class NotFound extends declare("NotFound", 404, "not_found_error") {}
export class MethodNotAllowed extends declare("MethodNotAllowed", 405, "method_not_allowed") {}
/** An `Idempotency-Key` whose first request is still running (Stripe's semantics). */
export class IdempotencyConflict extends declare("IdempotencyConflict", 409, "idempotency_error") {}
/** An `Idempotency-Key` already used for a different request. */
export class IdempotencyMismatch extends declare("IdempotencyMismatch", 422, "idempotency_error") {}
export class RequestTooLarge extends declare("RequestTooLarge", 413, "request_too_large") {}
export class UnsupportedMediaType extends declare("UnsupportedMediaType", 415, "unsupported_media_type") {}
export class RateLimited extends declare("RateLimited", 429, "rate_limit_error") {}
export class InternalError extends declare("InternalError", 500, "internal_error") {}
/** The upstream answered, but with something the gateway cannot use (it is not retried: the upstream did the work). */
export class UpstreamError extends declare("UpstreamError", 502, "upstream_error") {}
export class ServiceUnavailable extends declare("ServiceUnavailable", 503, "service_error") {}
export class GatewayTimeout extends declare("GatewayTimeout", 504, "timeout_error") {}

/** A model named on the other kind's route: a chat model on /v1/embeddings, or an embedding model on the chat route. */
export const wrongKind = (name: string, model: { readonly kind: "chat" | "embedding" }): ValidationError =>
  new ValidationError({
    message:
      model.kind === "embedding"
        ? `The model ${quoted(name)} is an embedding model: it answers on /v1/embeddings, not /v1/chat/completions`
        : `The model ${quoted(name)} is a chat model: it answers on /v1/chat/completions, not /v1/embeddings`,
    param: "model"
  })

export type ApiError =
  | ValidationError
  | AuthenticationError
  | InsufficientBalance
  | PermissionDenied
  | NotFound
  | MethodNotAllowed
  | IdempotencyConflict
  | IdempotencyMismatch
  | RequestTooLarge
  | UnsupportedMediaType
  | RateLimited
  | InternalError
  | UpstreamError
  | ServiceUnavailable
  | GatewayTimeout

/** What a chat request may fail with once authenticated. */
export type ChatError =
  | ValidationError
  | InsufficientBalance
  | NotFound
  | RateLimited
  | InternalError
  | UpstreamError
  | ServiceUnavailable
  | GatewayTimeout

/** An error class as `http/Errors.ts` declares it on endpoints: a schema of its instances, with its status and type. */
export interface ApiErrorClass<E extends ApiError> extends Schema.Codec<E, unknown> {
  new (props: { readonly message: string; readonly param?: string; readonly retryAfterSeconds?: number }): E
  readonly identifier: string
  readonly status: E["status"]
  readonly errorType: E["errorType"]
}

export const isApiError = (u: unknown): u is ApiError => Predicate.hasProperty(u, TypeId)
