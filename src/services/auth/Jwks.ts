/**
 * The key set of JWT_JWKS_URL, kept in memory. Unlike a plain remote key set it keeps serving with the last
 * good keys when a refresh fails (an identity provider's outage must not log every user out), for at most
 * `maxStaleMs` after they were fetched, and it asks the endpoint at most once per `cooldownMs` whatever the
 * traffic: a refresh that is due, a retry after a failure, an unknown `kid`. Concurrent callers share one fetch.
 */
import * as Effect from "effect/Effect"
import * as jose from "jose"

export interface JwksOptions {
  readonly url: string
  /** Keys older than this are fetched again (the next request that needs them waits for the fetch). */
  readonly refreshAfterMs: number
  /** At most one fetch per this long, successful or not. */
  readonly cooldownMs: number
  /** Keys older than this are not used any more, fetch failing or not. */
  readonly maxStaleMs: number
  readonly timeoutMs: number
}

/** Thrown to jose when there is no key set young enough to use; Auth names it in its 401. */
export class KeysUnavailable extends Error {
  override readonly name = "KeysUnavailable"
}

type Outcome = { readonly ok: true } | { readonly ok: false; readonly reason: string }

const fetchKeySet = async (url: string, timeoutMs: number): Promise<jose.JWTVerifyGetKey> => {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "error" })
  if (!response.ok) throw new Error(`HTTP ${response.status}`)
  // Refuses anything that is not a key set; the keys themselves are imported when a token names them.
  return jose.createLocalJWKSet((await response.json()) as jose.JSONWebKeySet)
}

export const makeJwks = (options: JwksOptions) => {
  let keys: jose.JWTVerifyGetKey | undefined
  let fetchedAt = Number.NEGATIVE_INFINITY
  let attemptedAt = Number.NEGATIVE_INFINITY
  let inflight: Promise<Outcome> | undefined

  const mayFetch = (now: number) => now - attemptedAt >= options.cooldownMs

  /** One fetch at a time; its outcome is logged once, by the effect that started it. */
  const refresh = (now: number) =>
    Effect.suspend(() => {
      if (inflight !== undefined) return Effect.promise(() => inflight!)
      attemptedAt = now
      const started = fetchKeySet(options.url, options.timeoutMs).then(
        (fresh): Outcome => {
          keys = fresh
          fetchedAt = now
          return { ok: true }
        },
        (error: unknown): Outcome => ({ ok: false, reason: error instanceof Error ? error.message : String(error) })
      )
      inflight = started
      return Effect.promise(() => started).pipe(
        Effect.ensuring(Effect.sync(() => (inflight = undefined))),
        Effect.tap((outcome) =>
          outcome.ok
            ? Effect.void
            : Effect.logWarning(
                keys === undefined
                  ? `JWKS fetch from ${options.url} failed (${outcome.reason}); tokens are refused until it succeeds`
                  : `JWKS refresh from ${options.url} failed (${outcome.reason}); still using the keys fetched ` +
                      `${Math.round((now - fetchedAt) / 1000)} s ago (at most ${options.maxStaleMs / 1000} s)`
              )
        )
      )
    })

  /** Fetches the set when it is missing or due, if the cooldown allows; never fails. */
  const prepare = (now: number): Effect.Effect<void> =>
    (keys === undefined || now - fetchedAt >= options.refreshAfterMs) && mayFetch(now)
      ? Effect.asVoid(refresh(now))
      : Effect.void

  /** After a token named an unknown `kid`: fetches again if the cooldown allows; true when there is a new set. */
  const refreshForUnknownKey = (now: number): Effect.Effect<boolean> =>
    mayFetch(now) ? Effect.map(refresh(now), (outcome) => outcome.ok) : Effect.succeed(false)

  /** The key resolver for jose at `now`: the current set, unless there is none young enough. */
  const resolver =
    (now: number): jose.JWTVerifyGetKey =>
    (header, token) => {
      if (keys === undefined) throw new KeysUnavailable("the signing keys could not be fetched")
      if (now - fetchedAt > options.maxStaleMs) throw new KeysUnavailable("the signing keys are out of date")
      return keys(header, token)
    }

  return { prepare, refreshForUnknownKey, resolver }
}
