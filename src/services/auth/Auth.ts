/**
 * Verifies bearer JWTs (jose). Algorithms are an explicit allow-list (never `none`, never
 * HMAC and public-key algorithms together); `exp` and `sub` are required, `nbf` honoured,
 * `iss`/`aud` enforced when configured. A verified token is cached until it expires, so
 * the hot path verifies each token once.
 */
import { Clock, Context, Effect, Layer, Redacted } from "effect"
import * as jose from "jose"
import { createPublicKey, type KeyObject } from "node:crypto"
import { GatewayConfig } from "../../Config.ts"
import { AuthenticationError } from "../../domain/errors.ts"
import type { User } from "../../http/Api.ts"

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

type VerificationKey = Uint8Array | KeyObject | jose.JWTVerifyGetKey

const joseReason = (error: unknown): string => {
  if (error instanceof jose.errors.JWTExpired) return "token expired"
  if (error instanceof jose.errors.JWTClaimValidationFailed) return `claim ${error.claim} is invalid`
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
      const key: VerificationKey =
        auth.jwksUrl !== undefined
          ? jose.createRemoteJWKSet(new URL(auth.jwksUrl), {
              cacheMaxAge: 10 * 60_000,
              cooldownDuration: auth.jwksCooldownSeconds * 1000,
              timeoutDuration: 5_000
            })
          : auth.publicKey !== undefined
            ? yield* Effect.try({
                try: () => createPublicKey(auth.publicKey!),
                catch: (cause) => new Error(`JWT_PUBLIC_KEY: not a valid PEM public key (${String(cause)})`)
              })
            : new TextEncoder().encode(Redacted.value(auth.secret!))
      const toleranceMs = auth.clockToleranceSeconds * 1000
      const maxAgeMs = auth.maxTokenAgeMinutes * 60_000
      const cache = new Map<string, CachedUser>()

      const verifyUncached = (token: string, now: number) =>
        Effect.tryPromise({
          try: () =>
            jose.jwtVerify(token, key as Uint8Array, {
              algorithms: [...auth.algorithms],
              issuer: auth.issuer,
              audience: auth.audience,
              clockTolerance: auth.clockToleranceSeconds,
              requiredClaims: ["exp", "sub"],
              currentDate: new Date(now)
            }),
          catch: (error) => authenticationFailure(joseReason(error))
        }).pipe(
          Effect.flatMap(({ payload }): Effect.Effect<CachedUser, AuthenticationError> => {
            const sub = payload.sub
            if (typeof sub !== "string" || sub === "" || sub.length > maxSubjectLength) {
              return Effect.fail(authenticationFailure("claim sub is invalid"))
            }
            let validUntil = payload.exp! * 1000 + toleranceMs
            if (payload.iat !== undefined && maxAgeMs > 0) {
              const tooOldAt = payload.iat * 1000 + maxAgeMs + toleranceMs
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
      })

      return Auth.of({ verify })
    })
  )
}
