/**
 * The end-user id providers see (OpenAI `user` and `safety_identifier`, Anthropic `metadata.user_id`), which they
 * use to attribute abuse. It comes from the authenticated user only: a tenant who wrote another's id in the
 * request body would otherwise have the provider blame, or block, the other. Hashed by default (HMAC-SHA-256,
 * keyed, so that ids are stable across restarts and replicas but do not reveal the `sub`).
 */
import * as Redacted from "effect/Redacted"
import { createHmac } from "node:crypto"
import type { GatewayConfigShape } from "../../Config.ts"
import type { ChatCompletionRequest } from "../../domain/Chat.ts"

const label = "llm-gateway provider user id\u0000"
const maxRemembered = 10_000

/** The id of a `sub`, or undefined when providers are told nothing. */
export const makeProviderUserId = (auth: GatewayConfigShape["auth"]): ((subject: string) => string | undefined) => {
  const { mode, key } = auth.providerUserId
  if (mode === "none") return () => undefined
  if (mode === "subject") return (subject) => subject
  // Without a key of its own or a JWT secret (public-key tokens, development only) the hash is unkeyed:
  // stable, but a guessable `sub` can be confirmed. Production requires a key then.
  const secret = key ?? auth.secret
  const hmacKey = secret === undefined ? "" : Redacted.value(secret)
  // The same few subjects send most requests: an HMAC (a hash object and three native calls) is computed once
  // per subject, not once per request. The cache is cleared whole when full, which bounds it at no bookkeeping cost.
  const known = new Map<string, string>()
  return (subject) => {
    let id = known.get(subject)
    if (id === undefined) {
      id = `user_${createHmac("sha256", hmacKey).update(label).update(subject).digest("base64url").slice(0, 32)}`
      if (known.size >= maxRemembered) known.clear()
      known.set(subject, id)
    }
    return id
  }
}

/**
 * The request with the client's `user` and `safety_identifier` replaced by the gateway's id: `user` always
 * (every provider that has an end-user field reads it), `safety_identifier` where the client used that name.
 */
export const withProviderUserId = (request: ChatCompletionRequest, id: string | undefined): ChatCompletionRequest => {
  const { user: _user, safety_identifier: safetyIdentifier, ...rest } = request
  if (id === undefined) return rest
  return safetyIdentifier === undefined || safetyIdentifier === null
    ? { ...rest, user: id }
    : { ...rest, user: id, safety_identifier: id }
}
