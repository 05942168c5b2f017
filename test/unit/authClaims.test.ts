/**
 * What a verified token may carry and for how long it is trusted: the subject's bounds, the role,
 * the maximum age and the clock tolerance, at their edges, including for a token verified once
 * and then served from the cache.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { TestClock } from "effect/testing"
import { SignJWT, type JWTPayload } from "jose"
import { GatewayConfig, type RawEnv } from "../../src/Config.ts"
import { Auth, maxTokenBytes } from "../../src/services/auth/Auth.ts"

const jwtSecret = "a-test-secret-of-at-least-32-bytes-0123456789"
const secret = new TextEncoder().encode(jwtSecret)
const now = Date.UTC(2026, 10, 26, 12, 0, 0)
const nowSeconds = now / 1000
const sign = (payload: JWTPayload) =>
  Effect.promise(() => new SignJWT(payload).setProtectedHeader({ alg: "HS256" }).sign(secret))
const valid = { sub: "alice", iat: nowSeconds - 60, exp: nowSeconds + 600 }

/** Verifies each token at its moment (ms after `now`) with one Auth service, so that its cache is shared. */
const verifyAt = (steps: ReadonlyArray<readonly [token: string, afterMs: number]>, env: RawEnv = {}) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(now)
    const auth = yield* Auth
    const exits = []
    for (const [token, afterMs] of steps) {
      yield* TestClock.setTime(now + afterMs)
      exits.push(yield* Effect.exit(auth.verify(token)))
    }
    return exits
  }).pipe(Effect.provide(Auth.layer.pipe(Layer.provide(GatewayConfig.layerTest({ JWT_SECRET: jwtSecret, ...env })))))

const messageOf = (exit: Exit.Exit<unknown, { readonly message: string }>) =>
  Exit.isFailure(exit) && exit.cause.reasons[0]?._tag === "Fail" ? exit.cause.reasons[0].error.message : "accepted"

describe("Auth: a token's claims", () => {
  it.effect("sub: required non-empty, at most 256 characters", () =>
    Effect.gen(function* () {
      const exits = yield* verifyAt([
        [yield* sign({ ...valid, sub: "" }), 0],
        [yield* sign({ ...valid, sub: "u".repeat(256) }), 0],
        [yield* sign({ ...valid, sub: "u".repeat(257) }), 0]
      ])
      assert.deepStrictEqual(exits.map(messageOf), [
        "Invalid or missing authentication token: claim sub is invalid",
        "accepted",
        "Invalid or missing authentication token: claim sub is invalid"
      ])
    })
  )

  it.effect("role: admin only when the claim says exactly admin", () =>
    Effect.gen(function* () {
      const exits = yield* verifyAt([
        [yield* sign(valid), 0],
        [yield* sign({ ...valid, role: "Admin" }), 0],
        [yield* sign({ ...valid, role: "admin" }), 0]
      ])
      assert.deepStrictEqual(
        exits.map((exit) => (Exit.isSuccess(exit) ? exit.value.role : "rejected")),
        ["user", "user", "admin"]
      )
    })
  )

  it.effect("an empty or oversized credential is refused before any verification", () =>
    Effect.gen(function* () {
      const exits = yield* verifyAt([
        ["", 0],
        ["x".repeat(maxTokenBytes + 1), 0],
        ["x".repeat(maxTokenBytes), 0]
      ])
      assert.deepStrictEqual(exits.map(messageOf), [
        "Invalid or missing authentication token",
        "Invalid or missing authentication token: token too large",
        "Invalid or missing authentication token: malformed token"
      ])
    })
  )
})

describe("Auth: how long a token is trusted", () => {
  it.effect("up to its maximum age (JWT_ACCESS_TOKEN_EXPIRE_MINUTES) plus the clock tolerance, to the second", () =>
    Effect.gen(function* () {
      // Issued 30 min 30 s ago: exactly at the limit of 30 min and 30 s of tolerance. One second older is refused.
      const atLimit = yield* sign({ ...valid, iat: nowSeconds - 1830, exp: nowSeconds + 3600 })
      const past = yield* sign({ ...valid, iat: nowSeconds - 1831, exp: nowSeconds + 3600 })
      const exits = yield* verifyAt([
        [atLimit, 0],
        [past, 0]
      ])
      assert.deepStrictEqual(exits.map(messageOf), [
        "accepted",
        "Invalid or missing authentication token: token is older than its maximum age"
      ])
      // A maximum age of 0 turns the check off.
      const [old] = yield* verifyAt([[past, 0]], { JWT_ACCESS_TOKEN_EXPIRE_MINUTES: "0" })
      assert.strictEqual(messageOf(old!), "accepted")
    })
  )

  it.effect("from the cache no longer than verification would: past its maximum age, or its expiry", () =>
    Effect.gen(function* () {
      // Aging: issued 29 min ago, good for an hour; too old 1 min 30 s from now (30 min + 30 s after issue).
      const aging = yield* sign({ ...valid, iat: nowSeconds - 1740, exp: nowSeconds + 3600 })
      // Expiring: 10 min left; refused once 10 min and the 30 s of tolerance have passed.
      const expiring = yield* sign(valid)
      const exits = yield* verifyAt([
        [aging, 0],
        [aging, 89_000],
        [aging, 91_000],
        [expiring, 0],
        [expiring, 629_000],
        [expiring, 631_000]
      ])
      assert.deepStrictEqual(exits.map(messageOf), [
        "accepted",
        "accepted",
        "Invalid or missing authentication token: token is older than its maximum age",
        "accepted",
        "accepted",
        "Invalid or missing authentication token: token expired"
      ])
    })
  )
})
