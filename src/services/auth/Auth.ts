/**
 * Verifies bearer JWTs (jose). Algorithms are an explicit allow-list (never `none`, never
 * HMAC and public-key algorithms together); `exp` and `sub` are required, `nbf` honoured,
 * `iss`/`aud` enforced when configured. With a maximum token age (JWT_ACCESS_TOKEN_EXPIRE_MINUTES)
 * `iat` is required too, so that the age cannot be skipped by leaving it out; an `iat` in the future
 * (beyond the clock tolerance) is refused. A verified token is cached until it expires, so the hot
 * path verifies each token once. Remote keys (JWT_JWKS_URL) are kept by `Jwks.ts`.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as jose from "jose"
import type { KeyObject } from "node:crypto"
import { GatewayConfig } from "../../Config.ts"
import { AuthenticationError } from "../../domain/errors.ts"
import type { User } from "../../domain/User.ts"
import { KeysUnavailable, makeJwks } from "./Jwks.ts"
import { traced } from "../telemetry/Spans.ts"

/** Longest accepted credential; real tokens are far shorter. */
export const maxTokenBytes = 8 * 1024
const maxCachedTokens = 10_000
const maxSubjectLength = 256

export const authenticationFailure = (reason?: string) =>
  new AuthenticationError({
    message:
      reason === undefined
        ? "Invalid or missing authentication token"
        : `Invalid or missing authentication token: ${reason}`
  })

/** How long fetched JWKS keys are used before they are fetched again (as jose's remote key sets do). */
const jwksRefreshAfterMs = 10 * 60_000

const joseReason = (error: unknown): string => {
  if (error instanceof KeysUnavailable) return error.message
  if (error instanceof jose.errors.JWTExpired) return "token expired"
  if (error instanceof jose.errors.JWTClaimValidationFailed) {
    if (error.reason !== "missing") return `claim ${error.claim} is invalid`
    return error.claim === "iat"
      ? "claim iat is missing (required: tokens have a maximum age, JWT_ACCESS_TOKEN_EXPIRE_MINUTES)"
      : `claim ${error.claim} is missing`
  }
  if (error instanceof jose.errors.JOSEAlgNotAllowed) return "algorithm not allowed"
  if (error instanceof jose.errors.JWSSignatureVerificationFailed) return "signature verification failed"
  if (error instanceof jose.errors.JWKSNoMatchingKey) return "no matching key"
  return "malformed token"
}

interface CachedUser {
  readonly user: User
  /** Epoch ms after which the token must be verified again (expiry or maximum age). */
  readonly validUntil: number
}

export class Auth extends Context.Service<
  Auth,
  {
    readonly verify: (token: string) => Effect.Effect<User, AuthenticationError>
  }
>()("gateway/Auth") {
  static readonly layer = Layer.effect(
    Auth,
    Effect.gen(function* () {
      const { auth } = yield* GatewayConfig
      const jwks =
        auth.jwksUrl === undefined
          ? undefined
          : makeJwks({
              url: auth.jwksUrl,
              refreshAfterMs: jwksRefreshAfterMs,
              cooldownMs: Duration.toMillis(auth.jwksCooldown),
              maxStaleMs: Duration.toMillis(auth.jwksMaxStale),
              timeoutMs: 5_000
            })
      const staticKey: Uint8Array | KeyObject | undefined =
        jwks !== undefined
          ? undefined
          : auth.publicKey !== undefined
            ? auth.publicKey
            : new TextEncoder().encode(Redacted.value(auth.secret!))
      const toleranceMs = Duration.toMillis(auth.clockTolerance)
      const maxAgeMs = Duration.toMillis(auth.maxTokenAge)
      const cache = new Map<string, CachedUser>()

      const options = (now: number): jose.JWTVerifyOptions => ({
        algorithms: [...auth.algorithms],
        issuer: auth.issuer,
        audience: auth.audience,
        clockTolerance: Duration.toSeconds(auth.clockTolerance),
        requiredClaims: maxAgeMs > 0 ? ["exp", "sub", "iat"] : ["exp", "sub"],
        currentDate: new Date(now)
      })
      const jwtVerify = (token: string, now: number) =>
        Effect.tryPromise({
          try: () =>
            jwks === undefined
              ? jose.jwtVerify(token, staticKey as Uint8Array, options(now))
              : jose.jwtVerify(token, jwks.resolver(now), options(now)),
          catch: (error) => error
        })
      /** With a JWKS: its keys fetched when due, and fetched again once for a `kid` it does not know. */
      const verifySignature = (token: string, now: number) =>
        jwks === undefined
          ? jwtVerify(token, now)
          : Effect.andThen(
              jwks.prepare(now),
              jwtVerify(token, now).pipe(
                Effect.catchIf(
                  (error) => error instanceof jose.errors.JWKSNoMatchingKey,
                  (error) =>
                    Effect.flatMap(jwks.refreshForUnknownKey(now), (refreshed) =>
                      refreshed ? jwtVerify(token, now) : Effect.fail(error)
                    )
                )
              )
            )

      const verifyUncached = (token: string, now: number) =>
        verifySignature(token, now).pipe(
          Effect.mapError((error) => authenticationFailure(joseReason(error))),
          Effect.flatMap(({ payload }): Effect.Effect<CachedUser, AuthenticationError> => {
            const sub = payload.sub
            if (typeof sub !== "string" || sub === "" || sub.length > maxSubjectLength) {
              return Effect.fail(authenticationFailure("claim sub is invalid"))
            }
            if (payload.iat !== undefined && payload.iat * 1000 > now + toleranceMs) {
              return Effect.fail(authenticationFailure("claim iat is in the future"))
            }
            let validUntil = payload.exp! * 1000 + toleranceMs
            if (maxAgeMs > 0) {
              const tooOldAt = payload.iat! * 1000 + maxAgeMs + toleranceMs
              if (now > tooOldAt) return Effect.fail(authenticationFailure("token is older than its maximum age"))
              validUntil = Math.min(validUntil, tooOldAt)
            }
            const role = payload["role"] === "admin" ? "admin" : "user"
            return Effect.succeed({ user: { id: sub, role, tokenExpiresAt: payload.exp! }, validUntil })
          })
        )

      const verify = Effect.fnUntraced(function* (token: string) {
        if (token === "") return yield* authenticationFailure()
        if (token.length > maxTokenBytes) return yield* authenticationFailure("token too large")
        const now = yield* Clock.currentTimeMillis
        const cached = cache.get(token)
        if (cached !== undefined) {
          if (now <= cached.validUntil) return cached.user
          cache.delete(token)
        }
        const verified = yield* verifyUncached(token, now)
        if (cache.size >= maxCachedTokens) cache.delete(cache.keys().next().value!)
        cache.set(token, verified)
        return verified.user
      }, traced("Auth.verify"))

      return Auth.of({ verify })
    })
  )
}
