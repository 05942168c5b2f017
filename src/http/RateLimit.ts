/**
 * The rate-limit middlewares of the authenticated groups. They refuse with 429 when a limit
 * is exhausted and put the rate-limit headers on every response they wrap, errors included,
 * naming the limit that applied:
 *
 *   X-RateLimit-Limit / -Remaining / -Reset   the per-user limit of the request's kind (chat, or
 *                                             reads), reset in epoch seconds (the spec)
 *   RateLimit-Policy, RateLimit               every limit the request counted against, as in the
 *                                             IETF draft (draft-ietf-httpapi-ratelimit-headers):
 *                                             "per-user" and "global" for chat, "reads" for reads
 *   X-RateLimit-Limit-Tokens / -Remaining-    the per-user token limit, when it is on (chat only),
 *   Tokens / -Reset-Tokens                    with OpenAI's names, the reset as a Go duration
 *
 * Chat requests (`layer`): the limiter's script runs while the handler reads the body, resolves
 * the model and reserves the cost; the handler waits for the verdict only before its upstream
 * call (`Admission.beforeUpstream`). A refused request releases its hold there (the reservation
 * is settled with a release, the same path as any request that ends before its upstream call),
 * and is answered 429 whatever else it met: a client over its limit always hears that first. An
 * admitted request that ends before any upstream call (400, 402, 404, an open breaker) gives its global entry
 * back — the global limit counts only requests that reach an upstream — and keeps its per-user
 * one. A user whose last request was refused waits for the verdict before any work, as before:
 * a client hammering past its limit costs one Redis call a request, no reserve.
 *
 * With the token limit on, the script waits for the request's token upper bound, which the handler
 * gives (`Admission.tokens.admit`) once it has priced the request, just before its reserve: still
 * one call, still overlapping the reserve. The count is corrected to the request's usage when it
 * settles (`settled`, off the response path); one that never reached an upstream gives its tokens
 * back with its global entry (docs/rate-limits.md, "Tokens per minute").
 *
 * Reads (`readLayer`): one per-user limit of their own, checked before the handler, never global.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as HttpEffect from "effect/http/HttpEffect"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import { RateLimited } from "../domain/errors.ts"
import {
  epochSeconds,
  type Limits,
  readLimits,
  retryAfterSeconds,
  secondsUntil,
  type Verdict
} from "../services/ratelimit/Policy.ts"
import { RateLimiter } from "../services/ratelimit/RateLimiter.ts"
import { CurrentRequest } from "../services/telemetry/RequestRecord.ts"
import { Admission, CurrentUser, MessagesRateLimit, MessagesReadRateLimit, RateLimit, ReadRateLimit } from "./Api.ts"

const windowSeconds = (windowUs: number) => windowUs / 1_000_000

export const policyHeader = (limits: Limits): string =>
  `"per-user";q=${limits.user.limit};w=${windowSeconds(limits.user.windowUs)}, ` +
  `"global";q=${limits.global.limit};w=${windowSeconds(limits.global.windowUs)}`

export const readPolicyHeader = (limits: Limits): string =>
  `"reads";q=${limits.reads.limit};w=${windowSeconds(limits.reads.windowUs)}`

const perUserHeaders = (verdict: Verdict, limit: number) => {
  const remaining = Math.max(0, limit - verdict.userCount)
  return {
    remaining,
    headers: {
      "x-ratelimit-limit": String(limit),
      "x-ratelimit-remaining": String(remaining),
      "x-ratelimit-reset": String(epochSeconds(verdict.userResetUs))
    }
  }
}

/**
 * A duration as OpenAI's `x-ratelimit-reset-*` headers write it, Go's `time.Duration` format (`0s`, `250ms`,
 * `17.28s`, `6m0s`, `1h0m0s`), to the millisecond, rounded up so that a client waiting that long is not early.
 */
export const goDuration = (micros: number): string => {
  const millis = Math.max(0, Math.ceil(micros / 1000))
  if (millis === 0) return "0s"
  if (millis < 1000) return `${millis}ms`
  const hours = Math.floor(millis / 3_600_000)
  const minutes = Math.floor((millis % 3_600_000) / 60_000)
  const seconds = String((millis % 60_000) / 1000)
  return hours > 0 ? `${hours}h${minutes}m${seconds}s` : minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`
}

/** OpenAI's token headers, when the token limit is on; `returned` when the request's tokens were given back. */
const tokenHeaders = (verdict: Verdict, limits: Limits, returned: boolean): Record<string, string> => {
  const { tokens } = verdict
  if (tokens === undefined || limits.tokens === undefined) return {}
  const held = returned && tokens.entry !== undefined ? tokens.count - tokens.requested : tokens.count
  return {
    "x-ratelimit-limit-tokens": String(limits.tokens.limit),
    "x-ratelimit-remaining-tokens": String(Math.max(0, limits.tokens.limit - held)),
    "x-ratelimit-reset-tokens": goDuration(tokens.resetUs - verdict.nowUs)
  }
}

/** The headers of a chat request; `returned` when its global entry and tokens were given back (they did not count). */
export const rateLimitHeaders = (
  verdict: Verdict,
  limits: Limits,
  policy: string,
  returned = false
): Record<string, string> => {
  const user = perUserHeaders(verdict, limits.user.limit)
  const globalRemaining = Math.max(0, limits.global.limit - verdict.globalCount + (returned ? 1 : 0))
  return {
    ...user.headers,
    ...tokenHeaders(verdict, limits, returned),
    "ratelimit-policy": policy,
    ratelimit:
      `"per-user";r=${user.remaining};t=${secondsUntil(verdict.userResetUs, verdict.nowUs)}, ` +
      `"global";r=${globalRemaining};t=${secondsUntil(verdict.globalResetUs, verdict.nowUs)}`
  }
}

export const readRateLimitHeaders = (verdict: Verdict, limits: Limits, policy: string): Record<string, string> => {
  const reads = perUserHeaders(verdict, limits.reads.limit)
  return {
    ...reads.headers,
    "ratelimit-policy": policy,
    ratelimit: `"reads";r=${reads.remaining};t=${secondsUntil(verdict.userResetUs, verdict.nowUs)}`
  }
}

/** The spec's sentence, then which limit was hit. */
export const refusal = (verdict: Verdict, limits: Limits, kind: "chat" | "reads" = "chat"): RateLimited => {
  const seconds = retryAfterSeconds(verdict, limits)
  // Always "seconds", as in the spec, so that clients matching its sentence keep working.
  const which =
    verdict.outcome === "global_limit"
      ? `The global limit of ${limits.global.limit} requests per hour is reached.`
      : verdict.outcome === "token_limit"
        ? `The per-user limit of ${limits.tokens?.limit} tokens per minute is reached: ` +
          `this request may use up to ${verdict.tokens?.requested} tokens, and ${verdict.tokens?.count} are in use.`
        : kind === "reads"
          ? `The per-user limit of ${limits.user.limit} reads (/v1/models, /billing) per minute is reached.`
          : `The per-user limit of ${limits.user.limit} requests per minute is reached.`
  return new RateLimited({
    message: `Rate limit exceeded. Try again in ${seconds} seconds. ${which}`,
    retryAfterSeconds: seconds
  })
}

/** Users refused recently, until their refusal's reset: a hint only, so bounded by forgetting all. */
const maxHints = 10_000
const refusalHints = () => {
  const refusedUntil = new Map<string, number>()
  return {
    refused: (userId: string): boolean => {
      const until = refusedUntil.get(userId)
      if (until === undefined) return false
      if (until > Date.now()) return true
      refusedUntil.delete(userId)
      return false
    },
    note: (userId: string, verdict: Verdict) => {
      if (verdict.outcome === "admitted") return
      if (refusedUntil.size >= maxHints) refusedUntil.clear()
      const resetUs =
        verdict.outcome === "user_limit"
          ? verdict.userResetUs
          : verdict.outcome === "token_limit"
            ? (verdict.tokens?.resetUs ?? verdict.nowUs)
            : verdict.globalResetUs
      refusedUntil.set(userId, Date.now() + (resetUs - verdict.nowUs) / 1000)
    }
  }
}

export const layer = Layer.effect(
  RateLimit,
  Effect.gen(function* () {
    const limiter = yield* RateLimiter
    const { limits } = limiter
    const policy = policyHeader(limits)
    const hints = refusalHints()
    const tokenLimit = limits.tokens?.limit
    // Uninterruptible but for the handler, so that a request whose client left still gives its global
    // entry back; every wait outside the handler is bounded by the Redis command timeout.
    return RateLimit.of((httpEffect) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          const consume = (tokens: number) =>
            Effect.tap(limiter.consume(user.id, tokens), (verdict) => Effect.sync(() => hints.note(user.id, verdict)))
          // With the token limit on, the decision starts once the request's token upper bound is known.
          const bound = tokenLimit === undefined ? undefined : yield* Deferred.make<number>()
          const start = (tokens: number) => (bound === undefined ? Effect.void : Deferred.succeed(bound, tokens))
          const decision = yield* Effect.forkChild(
            bound === undefined ? consume(0) : Effect.flatMap(Deferred.await(bound), consume)
          )
          let reachedUpstream = false
          let returned = false
          yield* HttpEffect.appendPreResponseHandler((_request, response) =>
            Effect.map(Fiber.join(decision), (verdict) =>
              HttpServerResponse.setHeaders(response, rateLimitHeaders(verdict, limits, policy, returned))
            )
          )
          const beforeUpstream = Effect.andThen(
            start(0),
            Effect.flatMap(Fiber.join(decision), (verdict) =>
              verdict.outcome === "admitted" ? Effect.void : Effect.fail(refusal(verdict, limits))
            )
          )
          const refusedRecently = hints.refused(user.id)
          if (refusedRecently && tokenLimit === undefined) yield* beforeUpstream
          const admit = (tokens: number) =>
            Effect.andThen(start(tokens), refusedRecently ? beforeUpstream : Effect.void)
          const upstreamCalled = Effect.sync(() => {
            reachedUpstream = true
          })
          // A request that never reached an upstream gives its tokens back below, with its global entry.
          const settled = (tokens: number) =>
            reachedUpstream
              ? Effect.flatMap(Fiber.join(decision), (verdict) => limiter.settleTokens(user.id, verdict, tokens))
              : Effect.void
          const exit = yield* Effect.exit(
            restore(
              Effect.provideService(httpEffect, Admission, {
                beforeUpstream,
                upstreamCalled,
                tokens: tokenLimit === undefined ? undefined : { limit: tokenLimit, admit, settled }
              })
            )
          )
          if (!reachedUpstream) {
            // A request refused before it priced itself (400, 404) counts with no tokens.
            yield* start(0)
            const verdict = yield* Fiber.join(decision)
            if (verdict.outcome !== "admitted") {
              ;(yield* CurrentRequest).rateLimited()
              return yield* refusal(verdict, limits)
            }
            // The headers count the slot and the tokens as free only if they really were given back.
            returned = yield* limiter.giveBack(user.id, verdict)
          }
          return yield* exit
        })
      )
    )
  })
)

export const readLayer = Layer.effect(
  ReadRateLimit,
  Effect.gen(function* () {
    const limiter = yield* RateLimiter
    const limits = readLimits(limiter.limits)
    const policy = readPolicyHeader(limiter.limits)
    return ReadRateLimit.of(
      Effect.fnUntraced(function* (httpEffect) {
        const user = yield* CurrentUser
        const verdict = yield* limiter.consumeRead(user.id)
        const headers = readRateLimitHeaders(verdict, limiter.limits, policy)
        yield* HttpEffect.appendPreResponseHandler((_request, response) =>
          Effect.succeed(HttpServerResponse.setHeaders(response, headers))
        )
        return verdict.outcome === "admitted" ? yield* httpEffect : yield* refusal(verdict, limits, "reads")
      })
    )
  })
)

/** The Messages routes count against the same limits as chat, through the same instance (their errors are Anthropic's). */
export const messagesLayer = Layer.effect(
  MessagesRateLimit,
  Effect.map(RateLimit, (limit) => MessagesRateLimit.of(limit))
).pipe(Layer.provide(layer))

/** `/v1/messages/count_tokens` is a read, counted with `/v1/models`. */
export const messagesReadLayer = Layer.effect(
  MessagesReadRateLimit,
  Effect.map(ReadRateLimit, (limit) => MessagesReadRateLimit.of(limit))
).pipe(Layer.provide(readLayer))
