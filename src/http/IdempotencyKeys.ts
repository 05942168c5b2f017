/**
 * The `Idempotency-Key` header on requests that cost money (services/idempotency/Idempotency.ts has the rules).
 * A request without the header costs nothing here. With it: the key is checked, the request fingerprinted
 * (method, path, body), and either the stored answer of an earlier success is returned (`Idempotent-Replayed:
 * true`; the handler does not run, nothing is sent upstream or charged), or the request runs and its answer is
 * stored when it succeeds; a failure or a client that leaves gives the key back, in a finaliser that cannot be
 * interrupted. Streamed answers are not stored, so a streamed request with a key is refused.
 */
import { createHash } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import { quoted, ValidationError } from "../domain/errors.ts"
import { Idempotency, type StoredAnswer } from "../services/idempotency/Idempotency.ts"
import { CurrentUser, IdempotencyKeys, MessagesIdempotencyKeys } from "./Api.ts"
import { RequestId } from "./RequestContext.ts"

const header = "idempotency-key"
/** Stripe's limit; a UUID is 36. */
const maxKeyLength = 255
/** Printable ASCII: what a header carries faithfully through proxies. */
const keyCharacters = /^[\x21-\x7e]+$/

/** The headers of an answer that belong to it (who served it, what it cost), not to the moment it is sent. */
const storedHeaders = [
  "content-type",
  "x-request-cost",
  "x-balance-remaining",
  "x-gateway-provider",
  "x-gateway-model",
  "x-gateway-max-tokens",
  "x-gateway-fallback-from"
]

const invalidKey = (message: string) => new ValidationError({ message, param: "Idempotency-Key" })

/** Whether the request asks for a streamed answer: a stream endpoint, or `"stream": true` in its body. */
const isStreamed = (path: string, body: string) => {
  if (path.endsWith("/stream")) return true
  try {
    const parsed: unknown = JSON.parse(body)
    return typeof parsed === "object" && parsed !== null && (parsed as { readonly stream?: unknown }).stream === true
  } catch {
    // The handler refuses a body that is not JSON, with the key given back.
    return false
  }
}

const replayed = (answer: StoredAnswer) =>
  HttpServerResponse.text(answer.body, {
    status: answer.status,
    contentType: answer.headers["content-type"] ?? "application/json",
    headers: { ...answer.headers, "idempotent-replayed": "true" }
  })

const toStore = (response: HttpServerResponse.HttpServerResponse, requestId: string): StoredAnswer | undefined => {
  if (response.status < 200 || response.status >= 300 || response.body._tag !== "Uint8Array") return undefined
  const headers: Record<string, string> = { "x-original-request-id": requestId }
  for (const name of storedHeaders) {
    const value = response.headers[name]
    if (value !== undefined) headers[name] = value
  }
  if (headers["content-type"] === undefined && response.body.contentType) {
    headers["content-type"] = response.body.contentType
  }
  return { status: response.status, headers, body: new TextDecoder().decode(response.body.body) }
}

export const layer = Layer.effect(
  IdempotencyKeys,
  Effect.gen(function* () {
    const idempotency = yield* Idempotency
    /** A request that names a key: checked, fingerprinted, then replayed or run and stored. */
    const keyed = <E, R>(
      httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
      request: HttpServerRequest.HttpServerRequest,
      path: string,
      key: string
    ) =>
      Effect.gen(function* () {
        if (key.length === 0 || key.length > maxKeyLength || !keyCharacters.test(key)) {
          return yield* invalidKey(
            `Idempotency-Key must be 1 to ${maxKeyLength} printable ASCII characters, got ${quoted(key)}`
          )
        }
        // A body that cannot be read (too large, cut) is the handler's to refuse, as without a key.
        const body = yield* Effect.option(request.text)
        if (body._tag === "None") return yield* httpEffect
        if (isStreamed(path, body.value)) {
          return yield* invalidKey(
            "Idempotency-Key is not supported on streamed requests (a stream is not stored for replay); " +
              "send it without the key, or ask for a plain answer"
          )
        }
        const user = yield* CurrentUser
        const fingerprint = createHash("sha256").update(`${request.method} ${path}\n`).update(body.value).digest("hex")
        const claim = yield* idempotency.claim({ userId: user.id, key, fingerprint })
        if (claim._tag === "Replay") return replayed(claim.answer)
        const requestId = yield* RequestId
        return yield* Effect.scoped(
          Effect.andThen(claim.keepAlive, httpEffect).pipe(
            Effect.onExit((exit) => {
              const answer = Exit.isSuccess(exit) ? toStore(exit.value, requestId) : undefined
              return answer === undefined ? claim.release : claim.store(answer)
            })
          )
        )
      })

    // Most requests name no key: for them, one header look-up and nothing else on the request path.
    return IdempotencyKeys.of((httpEffect, { endpoint }) =>
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        const key = request.headers[header]
        return key === undefined ? httpEffect : keyed(httpEffect, request, endpoint.path, key)
      })
    )
  })
)

/** The same for `/v1/messages`, through the same instance (its errors are Anthropic's). */
export const messagesLayer = Layer.effect(
  MessagesIdempotencyKeys,
  Effect.map(IdempotencyKeys, (keys) => MessagesIdempotencyKeys.of(keys))
).pipe(Layer.provide(layer))
