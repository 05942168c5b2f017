/**
 * The failures a client can see. Each carries the HTTP status and the spec's
 * `error_type`; `http/Errors.ts` is the one place that turns them into the wire format.
 */
import * as Schema from "effect/Schema"

/**
 * A client-supplied value as an error message quotes it: whole when short, else its start and its length, so that
 * an answer never grows with what a client sent.
 */
export const quoted = (value: string, maximum = 100): string =>
  value.length <= maximum ? `'${value}'` : `'${value.slice(0, maximum)}…' (${value.length} characters)`

const fields = {
  message: Schema.String,
  /** The request field at fault, when there is one (OpenAI's `error.param`). */
  param: Schema.optionalKey(Schema.String),
  /** Seconds the client should wait before retrying; sent as `Retry-After`. */
  retryAfterSeconds: Schema.optionalKey(Schema.Int)
}

export class ValidationError extends Schema.TaggedError<ValidationError>()("ValidationError", fields) {
  static readonly status = 400
  static readonly errorType = "validation_error"
}
export class AuthenticationError extends Schema.TaggedError<AuthenticationError>()("AuthenticationError", fields) {
  static readonly status = 401
  static readonly errorType = "authentication_error"
}
export class InsufficientBalance extends Schema.TaggedError<InsufficientBalance>()("InsufficientBalance", fields) {
  static readonly status = 402
  static readonly errorType = "insufficient_balance"
}
export class PermissionDenied extends Schema.TaggedError<PermissionDenied>()("PermissionDenied", fields) {
  static readonly status = 403
  static readonly errorType = "permission_error"
}
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", fields) {
  static readonly status = 404
  static readonly errorType = "not_found_error"
}
export class MethodNotAllowed extends Schema.TaggedError<MethodNotAllowed>()("MethodNotAllowed", fields) {
  static readonly status = 405
  static readonly errorType = "method_not_allowed"
}
export class RequestTooLarge extends Schema.TaggedError<RequestTooLarge>()("RequestTooLarge", fields) {
  static readonly status = 413
  static readonly errorType = "request_too_large"
}
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()("UnsupportedMediaType", fields) {
  static readonly status = 415
  static readonly errorType = "unsupported_media_type"
}
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", fields) {
  static readonly status = 429
  static readonly errorType = "rate_limit_error"
}
export class InternalError extends Schema.TaggedError<InternalError>()("InternalError", fields) {
  static readonly status = 500
  static readonly errorType = "internal_error"
}
/** The upstream answered, but with something the gateway cannot use (it is not retried: the upstream did the work). */
export class UpstreamError extends Schema.TaggedError<UpstreamError>()("UpstreamError", fields) {
  static readonly status = 502
  static readonly errorType = "upstream_error"
}
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()("ServiceUnavailable", fields) {
  static readonly status = 503
  static readonly errorType = "service_error"
}
export class GatewayTimeout extends Schema.TaggedError<GatewayTimeout>()("GatewayTimeout", fields) {
  static readonly status = 504
  static readonly errorType = "timeout_error"
}

export type ApiError =
  | ValidationError
  | AuthenticationError
  | InsufficientBalance
  | PermissionDenied
  | NotFound
  | MethodNotAllowed
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

export interface ApiErrorClass<E extends ApiError = ApiError> {
  new (props: { readonly message: string; readonly param?: string; readonly retryAfterSeconds?: number }): E
  readonly status: number
  readonly errorType: string
}

export const apiErrorClasses: ReadonlyArray<ApiErrorClass> = [
  ValidationError,
  AuthenticationError,
  InsufficientBalance,
  PermissionDenied,
  NotFound,
  MethodNotAllowed,
  RequestTooLarge,
  UnsupportedMediaType,
  RateLimited,
  InternalError,
  UpstreamError,
  ServiceUnavailable,
  GatewayTimeout
]

/** The error class a status maps to; unknown 4xx become validation errors, unknown 5xx internal ones. */
export const classForStatus = (status: number): ApiErrorClass =>
  apiErrorClasses.find((cls) => cls.status === status) ?? (status >= 500 ? InternalError : ValidationError)

export const isApiError = (u: unknown): u is ApiError =>
  typeof u === "object" && u !== null && apiErrorClasses.some((cls) => u instanceof cls)

export const statusOf = (error: ApiError): number => (error.constructor as ApiErrorClass).status
export const errorTypeOf = (error: ApiError): string => (error.constructor as ApiErrorClass).errorType
