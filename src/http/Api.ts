/**
 * The HTTP contract of the gateway: every endpoint of the spec, its schemas and its
 * errors. Schemas only; the handlers live in `handlers/`.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as HttpApi from "effect/http-api/HttpApi"
import * as HttpApiEndpoint from "effect/http-api/HttpApiEndpoint"
import * as HttpApiGroup from "effect/http-api/HttpApiGroup"
import * as HttpApiMiddleware from "effect/http-api/HttpApiMiddleware"
import * as HttpApiSchema from "effect/http-api/HttpApiSchema"
import * as HttpApiSecurity from "effect/http-api/HttpApiSecurity"
import * as OpenApi from "effect/http-api/OpenApi"
import {
  AccountList,
  AccountQuery,
  Balance,
  BalanceQuery,
  CreditRequest,
  TransactionList,
  TransactionQuery,
  Usage,
  UsageQuery
} from "../domain/Billing.ts"
import { ModelInfo, ModelList } from "../domain/Catalog.ts"
import { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "../domain/Chat.ts"
import { EmbeddingList, EmbeddingRequest } from "../domain/Embeddings.ts"
import {
  AuthenticationError,
  GatewayTimeout,
  IdempotencyConflict,
  IdempotencyMismatch,
  InsufficientBalance,
  InternalError,
  NotFound,
  PermissionDenied,
  RateLimited,
  RequestTooLarge,
  ServiceUnavailable,
  UnsupportedMediaType,
  UpstreamError,
  ValidationError
} from "../domain/errors.ts"
import {
  CircuitBreakers,
  DetailedHealth,
  Health,
  HealthHistory,
  Liveness,
  Monitoring,
  Readiness,
  SystemHealth
} from "../domain/Health.ts"
import {
  CountTokensRequest,
  CountTokensResponse,
  CreateMessageRequest,
  Message,
  MessageStreamEvent
} from "../domain/Messages.ts"
import { Traffic } from "../domain/Traffic.ts"
import type { User } from "../domain/User.ts"
import type { TokenAdmission } from "../services/chat/ChatCompletions.ts"
import { declared } from "./Errors.ts"
import { anthropicDeclared } from "./messages/errors.ts"

/**
 * The errors the contract declares, each built once by `declared` (the wire body at the class's status, and
 * `Retry-After`): endpoints and middlewares that declare the same error share its schema, and OpenAPI one component.
 */
const Declared = {
  AuthenticationError: declared(AuthenticationError),
  GatewayTimeout: declared(GatewayTimeout),
  IdempotencyConflict: declared(IdempotencyConflict),
  IdempotencyMismatch: declared(IdempotencyMismatch),
  InsufficientBalance: declared(InsufficientBalance),
  InternalError: declared(InternalError),
  NotFound: declared(NotFound),
  PermissionDenied: declared(PermissionDenied),
  RateLimited: declared(RateLimited),
  RequestTooLarge: declared(RequestTooLarge),
  ServiceUnavailable: declared(ServiceUnavailable),
  UnsupportedMediaType: declared(UnsupportedMediaType),
  UpstreamError: declared(UpstreamError),
  ValidationError: declared(ValidationError)
}

/** The authenticated caller, provided by the Authentication middleware. */
export class CurrentUser extends Context.Service<CurrentUser, User>()("gateway/http/CurrentUser") {}

export class Authentication extends HttpApiMiddleware.Service<Authentication, { provides: CurrentUser }>()(
  "gateway/http/Authentication",
  {
    security: { bearer: HttpApiSecurity.bearer },
    error: Declared.AuthenticationError
  }
) {}

/**
 * The rate limiter's decision on a chat or embeddings request, taken while the handler does its own work
 * (reads and validates the body, reserves the worst-case cost): the handler waits for it only
 * before the upstream call (`beforeUpstream`), so the two round trips overlap. With the token
 * limit on, the decision starts when the handler knows the request's token upper bound (`admit`),
 * before its reserve.
 */
export interface ChatAdmission {
  /** Waits for the verdict and fails with 429 when the limiter refused (starts it without tokens if not started). */
  readonly beforeUpstream: Effect.Effect<void, RateLimited>
  /**
   * Says that a provider is being called: from then on the request counts against the global limit.
   * A request that ends without it (400, 402, 404, an open breaker, a client that left) gives its
   * global entry and its tokens back.
   */
  readonly upstreamCalled: Effect.Effect<void>
  /**
   * With the per-user token limit on: the decision starts when the handler gives the request's token upper
   * bound (`admit`, before its reserve; a user refused recently waits there for the verdict, before any reserve),
   * and the count is corrected to the tokens used when the request settles, off the response path.
   */
  readonly tokens: TokenAdmission | undefined
}

export class Admission extends Context.Service<Admission, ChatAdmission>()("gateway/http/Admission") {}

/**
 * Chat requests: consumes the caller's per-user and the global rate limit, concurrently with
 * the handler (see `Admission`), and puts the rate-limit headers on every response it wraps
 * (implemented in `RateLimit.ts`). Declared before Authentication on each group because the
 * first middleware declared runs innermost: Authentication runs first, provides the
 * CurrentUser, and its 401s are never counted.
 */
export class RateLimit extends HttpApiMiddleware.Service<RateLimit, { requires: CurrentUser; provides: Admission }>()(
  "gateway/http/RateLimit",
  { error: Declared.RateLimited }
) {}

/**
 * Requests sent with an `Idempotency-Key` header: the first runs, a repeat gets its stored answer (409 while it
 * runs, 422 when the key was used for another request); without the header, nothing (implemented in
 * `IdempotencyKeys.ts`). Declared first on a group, so it runs innermost: inside the rate limit, which counts
 * repeats as requests, and outside the handler, whose work a repeat skips.
 */
export class IdempotencyKeys extends HttpApiMiddleware.Service<IdempotencyKeys, { requires: CurrentUser }>()(
  "gateway/http/IdempotencyKeys",
  {
    error: [
      Declared.ValidationError,
      Declared.IdempotencyConflict,
      Declared.IdempotencyMismatch,
      Declared.ServiceUnavailable
    ]
  }
) {}

/**
 * Cheap authenticated reads (/v1/models, /billing/*): a per-user limit of their own, never
 * counted against the global limit, with headers naming that limit (implemented in `RateLimit.ts`).
 */
export class ReadRateLimit extends HttpApiMiddleware.Service<ReadRateLimit, { requires: CurrentUser }>()(
  "gateway/http/ReadRateLimit",
  { error: Declared.RateLimited }
) {}

/**
 * API-wide: turns HttpApi's request decoding failures into our 400/413/415 errors
 * (implemented in `RequestErrors.ts`).
 */
export class RequestErrors extends HttpApiMiddleware.Service<RequestErrors>()("gateway/http/RequestErrors", {
  error: [Declared.ValidationError, Declared.RequestTooLarge, Declared.UnsupportedMediaType]
}) {}

/**
 * Who may read `/metrics`: a bearer METRICS_TOKEN when one is set, nobody on the API's port when METRICS_PORT
 * gives it a listener of its own, loopback clients only otherwise (implemented in `MetricsAccess.ts`).
 */
export class MetricsAccess extends HttpApiMiddleware.Service<MetricsAccess>()("gateway/http/MetricsAccess", {
  error: [Declared.AuthenticationError, Declared.PermissionDenied, Declared.NotFound]
}) {}

const sse = HttpApiSchema.StreamSse({ contentType: "text/event-stream", data: ChatCompletionChunk })

/** Failures any chat request may meet after authentication (the limiter's 429 arrives through `Admission`). */
const chatErrors = [
  Declared.RateLimited,
  Declared.ValidationError,
  Declared.InsufficientBalance,
  Declared.NotFound,
  Declared.InternalError,
  Declared.UpstreamError,
  Declared.ServiceUnavailable,
  Declared.GatewayTimeout
] as const

export class ChatApi extends HttpApiGroup.make("chat")
  .add(
    HttpApiEndpoint.post("completions", "/v1/chat/completions", {
      payload: ChatCompletionRequest,
      success: [ChatCompletion, sse],
      error: chatErrors
    }).annotate(
      OpenApi.Description,
      "Creates a chat completion; with `stream: true` the answer is Server-Sent Events."
    ),
    HttpApiEndpoint.post("completionsStream", "/v1/chat/completions/stream", {
      payload: ChatCompletionRequest,
      success: sse,
      error: chatErrors
    }).annotate(OpenApi.Description, "Streams a chat completion as Server-Sent Events, whatever `stream` says.")
  )
  .middleware(IdempotencyKeys)
  .middleware(RateLimit)
  .middleware(Authentication) {}

export class EmbeddingsApi extends HttpApiGroup.make("embeddings")
  .add(
    HttpApiEndpoint.post("create", "/v1/embeddings", {
      payload: EmbeddingRequest,
      success: EmbeddingList,
      error: chatErrors
    }).annotate(
      OpenApi.Description,
      "Creates embeddings of `input` (a string, strings, a token array or token arrays) with an embedding model: " +
        'vectors as floats, or with `encoding_format: "base64"` as base64 of little-endian float32. Billed for input tokens.'
    )
  )
  .middleware(IdempotencyKeys)
  .middleware(RateLimit)
  .middleware(Authentication) {}

export class ModelsApi extends HttpApiGroup.make("models")
  .add(
    HttpApiEndpoint.get("list", "/v1/models", {
      success: ModelList
    }).annotate(
      OpenApi.Description,
      'Lists the models. A JSON array (the spec) by default; `{object: "list", data}` with MODELS_LIST_FORMAT=openai.'
    ),
    HttpApiEndpoint.get("retrieve", "/v1/models/:id", {
      params: { id: Schema.String },
      success: ModelInfo,
      error: Declared.NotFound
    })
  )
  .middleware(ReadRateLimit)
  .middleware(Authentication) {}

/** What every billing endpoint may answer: a bad parameter, a user naming what only admins may, the ledger down. */
const billingErrors = [Declared.ValidationError, Declared.PermissionDenied, Declared.ServiceUnavailable] as const
/** Reading an account: an admin naming one that does not exist also gets 404. */
const accountReadErrors = [...billingErrors, Declared.NotFound] as const

export class BillingApi extends HttpApiGroup.make("billing")
  .add(
    HttpApiEndpoint.get("balance", "/billing/balance", {
      query: BalanceQuery,
      success: Balance,
      error: accountReadErrors
    }).annotate(
      OpenApi.Description,
      "The caller's balance; admin tokens may name another user's account with `user_id` (404 when it has none)."
    ),
    HttpApiEndpoint.get("transactions", "/billing/transactions", {
      query: TransactionQuery,
      success: TransactionList,
      error: accountReadErrors
    }).annotate(
      OpenApi.Description,
      "The caller's ledger, newest first; admin tokens may name another user's account with `user_id`."
    ),
    HttpApiEndpoint.get("usage", "/billing/usage", {
      query: UsageQuery,
      success: Usage,
      error: billingErrors
    }).annotate(
      OpenApi.Description,
      "Spend and tokens of a period (`from` inclusive, `to` exclusive, UTC days) grouped by `day`, `model` or " +
        "`day,model`. Admin tokens may name another user (`user_id`) or every user (`all_users=true`)."
    ),
    HttpApiEndpoint.get("accounts", "/billing/accounts", {
      query: AccountQuery,
      success: AccountList,
      error: billingErrors
    }).annotate(OpenApi.Description, "Lists accounts with their balances, searchable and sorted. Admin tokens only."),
    HttpApiEndpoint.post("credit", "/billing/credits", {
      payload: CreditRequest,
      success: Balance,
      error: billingErrors
    }).annotate(OpenApi.Description, "Adds a credit or adjustment to a user's account. Admin tokens only.")
  )
  .middleware(ReadRateLimit)
  .middleware(Authentication) {}

export class AdminApi extends HttpApiGroup.make("admin")
  .add(
    HttpApiEndpoint.get("traffic", "/admin/traffic", {
      success: Traffic,
      error: Declared.PermissionDenied
    }).annotate(
      OpenApi.Description,
      "The last hour of this gateway process's API traffic, minute by minute (requests, errors, overhead), and each model's requests and recent upstream attempts. Admin tokens only."
    )
  )
  .middleware(ReadRateLimit)
  .middleware(Authentication) {}

const unhealthy = <S extends Schema.Top>(schema: S) => schema.pipe(HttpApiSchema.status(503))

export class HealthApi extends HttpApiGroup.make("health").add(
  HttpApiEndpoint.get("health", "/health", { success: [Health, unhealthy(Health)] }),
  HttpApiEndpoint.get("detailed", "/health/detailed", { success: [DetailedHealth, unhealthy(DetailedHealth)] }),
  HttpApiEndpoint.get("circuitBreakers", "/health/circuit-breakers", { success: CircuitBreakers }),
  HttpApiEndpoint.get("monitoring", "/health/monitoring", { success: Monitoring }),
  HttpApiEndpoint.get("system", "/health/system", { success: SystemHealth }),
  HttpApiEndpoint.get("history", "/health/history", { success: HealthHistory }),
  HttpApiEndpoint.get("ready", "/ready", { success: [Readiness, unhealthy(Readiness)] }),
  HttpApiEndpoint.get("live", "/live", { success: Liveness })
) {}

export class MetricsApi extends HttpApiGroup.make("metrics")
  .add(
    HttpApiEndpoint.get("metrics", "/metrics", {
      success: Schema.String.pipe(HttpApiSchema.asText({ contentType: "text/plain; version=0.0.4; charset=utf-8" })),
      error: Declared.ServiceUnavailable
    }).annotate(
      OpenApi.Description,
      "Prometheus metrics in the text exposition format. Protected: a bearer METRICS_TOKEN, or a listener of its own (METRICS_PORT)."
    )
  )
  .middleware(MetricsAccess) {}

/**
 * The same errors in Anthropic's format, for the Messages routes (`messages/errors.ts`). Those routes have
 * middlewares of their own, with the gateway's implementations, so that every error they declare, their
 * middlewares' included, is Anthropic's and OpenAPI documents only that.
 */
const AnthropicDeclared = {
  AuthenticationError: anthropicDeclared(AuthenticationError),
  GatewayTimeout: anthropicDeclared(GatewayTimeout),
  IdempotencyConflict: anthropicDeclared(IdempotencyConflict),
  IdempotencyMismatch: anthropicDeclared(IdempotencyMismatch),
  InsufficientBalance: anthropicDeclared(InsufficientBalance),
  InternalError: anthropicDeclared(InternalError),
  NotFound: anthropicDeclared(NotFound),
  RateLimited: anthropicDeclared(RateLimited),
  RequestTooLarge: anthropicDeclared(RequestTooLarge),
  ServiceUnavailable: anthropicDeclared(ServiceUnavailable),
  UnsupportedMediaType: anthropicDeclared(UnsupportedMediaType),
  UpstreamError: anthropicDeclared(UpstreamError),
  ValidationError: anthropicDeclared(ValidationError)
}

/** Authentication for Anthropic clients: the gateway's JWT as `x-api-key` (SDK 0.x) or a bearer token (SDK 1.x). */
export class MessagesAuthentication extends HttpApiMiddleware.Service<
  MessagesAuthentication,
  { provides: CurrentUser }
>()("gateway/http/MessagesAuthentication", {
  security: { apiKey: HttpApiSecurity.apiKey({ key: "x-api-key", in: "header" }), bearer: HttpApiSecurity.bearer },
  error: AnthropicDeclared.AuthenticationError
}) {}

/** `RateLimit` for `/v1/messages`: the same limits, counted with chat requests. */
export class MessagesRateLimit extends HttpApiMiddleware.Service<
  MessagesRateLimit,
  { requires: CurrentUser; provides: Admission }
>()("gateway/http/MessagesRateLimit", { error: AnthropicDeclared.RateLimited }) {}

/** `IdempotencyKeys` for `/v1/messages` (non-streamed answers), with the same store and rules as chat's. */
export class MessagesIdempotencyKeys extends HttpApiMiddleware.Service<
  MessagesIdempotencyKeys,
  { requires: CurrentUser }
>()("gateway/http/MessagesIdempotencyKeys", {
  error: [
    AnthropicDeclared.ValidationError,
    AnthropicDeclared.IdempotencyConflict,
    AnthropicDeclared.IdempotencyMismatch,
    AnthropicDeclared.ServiceUnavailable
  ]
}) {}

/** `ReadRateLimit` for `/v1/messages/count_tokens`: a read, counted with `/v1/models`. */
export class MessagesReadRateLimit extends HttpApiMiddleware.Service<
  MessagesReadRateLimit,
  { requires: CurrentUser }
>()("gateway/http/MessagesReadRateLimit", { error: AnthropicDeclared.RateLimited }) {}

/** `RequestErrors` for the Messages routes; it also names the request in Anthropic's `request-id` header. */
export class MessagesRequestErrors extends HttpApiMiddleware.Service<MessagesRequestErrors>()(
  "gateway/http/MessagesRequestErrors",
  {
    error: [
      AnthropicDeclared.ValidationError,
      AnthropicDeclared.RequestTooLarge,
      AnthropicDeclared.UnsupportedMediaType
    ]
  }
) {}

/**
 * `anthropic-version` is required, as Anthropic requires it and every Anthropic SDK sends it; any version is
 * accepted and answered in the 2023-06-01 format (docs/messages.md).
 */
const AnthropicHeaders = Schema.Struct({
  "anthropic-version": Schema.String.pipe(
    Schema.annotateKey({
      description: "Any Anthropic API version; answers follow 2023-06-01.",
      messageMissingKey: "header is required"
    })
  )
})

const messageEvents = HttpApiSchema.StreamSse({ contentType: "text/event-stream", data: MessageStreamEvent })

export class MessagesApi extends HttpApiGroup.make("messages")
  .add(
    HttpApiEndpoint.post("create", "/v1/messages", {
      payload: CreateMessageRequest,
      headers: AnthropicHeaders,
      success: [Message, messageEvents],
      error: [
        AnthropicDeclared.ValidationError,
        AnthropicDeclared.InsufficientBalance,
        AnthropicDeclared.NotFound,
        AnthropicDeclared.InternalError,
        AnthropicDeclared.UpstreamError,
        AnthropicDeclared.ServiceUnavailable,
        AnthropicDeclared.GatewayTimeout
      ]
    }).annotate(
      OpenApi.Description,
      "Anthropic's Messages API for Anthropic-SDK clients, over every catalog model; with `stream: true` the answer is Anthropic's Server-Sent Events. Errors in Anthropic's format."
    )
  )
  .middleware(MessagesIdempotencyKeys)
  .middleware(MessagesRateLimit)
  .middleware(MessagesAuthentication)
  .middleware(MessagesRequestErrors) {}

export class MessagesCountApi extends HttpApiGroup.make("messagesCount")
  .add(
    HttpApiEndpoint.post("countTokens", "/v1/messages/count_tokens", {
      payload: CountTokensRequest,
      headers: AnthropicHeaders,
      success: CountTokensResponse,
      error: [AnthropicDeclared.ValidationError, AnthropicDeclared.NotFound]
    }).annotate(
      OpenApi.Description,
      "Counts a Messages request's input tokens with the gateway's own tokenizer (the count billing uses when a provider reports none)."
    )
  )
  .middleware(MessagesReadRateLimit)
  .middleware(MessagesAuthentication)
  .middleware(MessagesRequestErrors) {}

export class Api extends HttpApi.make("llm-gateway")
  .add(ChatApi)
  .add(EmbeddingsApi)
  .add(ModelsApi)
  .add(BillingApi)
  .add(AdminApi)
  .add(HealthApi)
  .add(MetricsApi)
  .middleware(RequestErrors)
  // After RequestErrors: the Messages routes answer in Anthropic's format, through middlewares of their own.
  .add(MessagesApi)
  .add(MessagesCountApi)
  .annotateMerge(
    OpenApi.annotations({
      title: "LLM Gateway",
      description:
        "One OpenAI-compatible API in front of OpenAI, Anthropic and Google Gemini, with JWT auth, rate limits and prepaid billing. Every error body is `{detail, code, error_type, error: {message, type, param, code}}`."
    })
  ) {}
