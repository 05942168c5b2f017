/**
 * The rate-limit middleware of the authenticated groups. It consumes one request from the
 * caller's and the global limit, refuses with 429 when either is exhausted, and puts the
 * rate-limit headers on every response it wraps, errors included:
 *
 *   X-RateLimit-Limit / -Remaining / -Reset   the per-user limit, reset in epoch seconds (the spec)
 *   RateLimit-Policy, RateLimit               both limits, as in the IETF draft
 *                                             (draft-ietf-httpapi-ratelimit-headers)
 */
import { Effect, Layer } from "effect"
import { HttpEffect, HttpServerResponse } from "effect/http"
import { RateLimited } from "../domain/errors.ts"
import {
  epochSeconds,
  type Limits,
  retryAfterSeconds,
  secondsUntil,
  type Verdict
} from "../services/ratelimit/Policy.ts"
import { RateLimiter } from "../services/ratelimit/RateLimiter.ts"
import { CurrentUser, RateLimit } from "./Api.ts"

const windowSeconds = (windowUs: number) => windowUs / 1_000_000

export const policyHeader = (limits: Limits): string =>
  `"per-user";q=${limits.user.limit};w=${windowSeconds(limits.user.windowUs)}, ` +
  `"global";q=${limits.global.limit};w=${windowSeconds(limits.global.windowUs)}`

export const rateLimitHeaders = (verdict: Verdict, limits: Limits, policy: string): Record<string, string> => {
  const userRemaining = Math.max(0, limits.user.limit - verdict.userCount)
  const globalRemaining = Math.max(0, limits.global.limit - verdict.globalCount)
  return {
    "x-ratelimit-limit": String(limits.user.limit),
    "x-ratelimit-remaining": String(userRemaining),
    "x-ratelimit-reset": String(epochSeconds(verdict.userResetUs)),
    "ratelimit-policy": policy,
    ratelimit:
      `"per-user";r=${userRemaining};t=${secondsUntil(verdict.userResetUs, verdict.nowUs)}, ` +
      `"global";r=${globalRemaining};t=${secondsUntil(verdict.globalResetUs, verdict.nowUs)}`
  }
}

/** The spec's sentence, then which limit was hit. */
export const refusal = (verdict: Verdict, limits: Limits): RateLimited => {
  const seconds = retryAfterSeconds(verdict, limits)
  // Always "seconds", as in the spec, so that clients matching its sentence keep working.
  const which =
    verdict.outcome === "global_limit"
      ? `The global limit of ${limits.global.limit} requests per hour is reached.`
      : `The per-user limit of ${limits.user.limit} requests per minute is reached.`
  return new RateLimited({
    message: `Rate limit exceeded. Try again in ${seconds} seconds. ${which}`,
    retryAfterSeconds: seconds
  })
}

export const layer = Layer.effect(
  RateLimit,
  Effect.gen(function* () {
    const limiter = yield* RateLimiter
    const { limits } = limiter
    const policy = policyHeader(limits)
    return RateLimit.of((httpEffect) =>
      Effect.gen(function* () {
        const user = yield* CurrentUser
        const verdict = yield* limiter.consume(user.id).pipe(Effect.withSpan("ratelimit.consume"))
        const headers = rateLimitHeaders(verdict, limits, policy)
        yield* HttpEffect.appendPreResponseHandler((_request, response) =>
          Effect.succeed(HttpServerResponse.setHeaders(response, headers))
        )
        return verdict.outcome === "admitted" ? yield* httpEffect : yield* refusal(verdict, limits)
      })
    )
  })
)
