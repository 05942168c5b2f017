/**
 * Access to `/metrics`, which names every user's balance. One rule for both listeners:
 *
 * - METRICS_TOKEN set: the scrape must send `Authorization: Bearer <token>` (401 otherwise), on either listener.
 * - METRICS_PORT set: the API's port answers 404; the metrics listener serves it (with the token if one is set).
 * - Neither (refused at start-up in production): loopback clients only (403 otherwise), for a development machine.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import { createHash, timingSafeEqual } from "node:crypto"
import { GatewayConfig, type GatewayConfigShape } from "../Config.ts"
import * as Errors from "../domain/errors.ts"
import { MetricsAccess } from "./Api.ts"

export type MetricsListener = "api" | "metrics"

const digest = (text: string) => createHash("sha256").update(text).digest()

/** Compares digests, so neither the token's content nor its length leaks through timing. */
const sameSecret = (given: string, expected: string) => timingSafeEqual(digest(given), digest(expected))

const isLoopback = (address: string | undefined) =>
  address !== undefined && (address === "::1" || /^(::ffff:)?127\./.test(address))

/** Why a scrape is refused, or undefined when it may read the metrics. */
export const refusal = (
  access: GatewayConfigShape["observability"]["metrics"],
  listener: MetricsListener,
  authorization: string | undefined,
  remoteAddress: string | undefined
): Errors.AuthenticationError | Errors.PermissionDenied | Errors.NotFound | undefined => {
  if (listener === "api" && access.port !== undefined) {
    return new Errors.NotFound({ message: "Not found: GET /metrics (it is served on METRICS_PORT)" })
  }
  if (access.token !== undefined) {
    const match = /^Bearer (\S+)$/i.exec(authorization ?? "")
    return match !== null && sameSecret(match[1]!, Redacted.value(access.token))
      ? undefined
      : new Errors.AuthenticationError({ message: "Metrics need the bearer token METRICS_TOKEN" })
  }
  if (listener === "metrics" || isLoopback(remoteAddress)) return undefined
  return new Errors.PermissionDenied({
    message: "Metrics are served to loopback clients only; set METRICS_TOKEN or METRICS_PORT to scrape from elsewhere"
  })
}

/** Reads the request's credentials and address; the decision is `refusal`. */
export const check = (access: GatewayConfigShape["observability"]["metrics"], listener: MetricsListener) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const refused = refusal(
      access,
      listener,
      request.headers["authorization"],
      request.remoteAddress._tag === "Some" ? request.remoteAddress.value : undefined
    )
    if (refused !== undefined) return yield* refused
  })

export const layer = Layer.effect(
  MetricsAccess,
  Effect.gen(function* () {
    const { observability } = yield* GatewayConfig
    const allowed = check(observability.metrics, "api")
    return MetricsAccess.of((httpEffect) => Effect.andThen(allowed, httpEffect))
  })
)
