import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { TestClock } from "effect/testing"
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWTPayload } from "jose"
import { createServer, type Server } from "node:http"
import { afterAll, beforeAll } from "vitest"
import { GatewayConfig, type RawEnv } from "../../src/Config.ts"
import { Auth } from "../../src/services/auth/Auth.ts"

/** A fixed instant the TestClock is set to; tokens are minted relative to it. */
const now = Date.UTC(2026, 10, 26, 12, 0, 0)
const nowSeconds = now / 1000
const testSecret = "auth-test-secret-auth-test-secret-0123"
const hmac = new TextEncoder().encode(testSecret)

const sign = (
  payload: JWTPayload,
  options: { alg?: string; key?: Parameters<SignJWT["sign"]>[0]; kid?: string } = {}
) =>
  new SignJWT(payload)
    .setProtectedHeader({ alg: options.alg ?? "HS256", ...(options.kid ? { kid: options.kid } : {}) })
    .sign(options.key ?? hmac)

const valid = { sub: "alice", iat: nowSeconds - 60, exp: nowSeconds + 600 }

const authLayer = (env: RawEnv = {}) =>
  Auth.layer.pipe(Layer.provide(GatewayConfig.layerTest({ JWT_SECRET: testSecret, ...env })))

const verifyAt = (token: string, env: RawEnv = {}) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(now)
    const auth = yield* Auth
    return yield* Effect.exit(auth.verify(token))
  }).pipe(Effect.provide(authLayer(env)))

const expectRejected = (exit: Exit.Exit<unknown, { readonly message: string }>, reason?: RegExp) => {
  assert.isTrue(Exit.isFailure(exit), "expected the token to be rejected")
  if (Exit.isFailure(exit) && reason !== undefined) {
    const message = exit.cause.reasons[0]?._tag === "Fail" ? exit.cause.reasons[0].error.message : ""
    assert.match(message, reason)
  }
}

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url")

describe("Auth: the attack catalogue", () => {
  it.effect("accepts a valid HS256 token and reads sub and role", () =>
    Effect.gen(function* () {
      const user = yield* verifyAt(yield* Effect.promise(() => sign({ ...valid, role: "admin" })))
      assert.deepStrictEqual(Exit.isSuccess(user) ? user.value : undefined, {
        id: "alice",
        role: "admin",
        tokenExpiresAt: valid.exp
      })
    })
  )

  it.effect("rejects alg none", () =>
    Effect.gen(function* () {
      const unsigned = `${base64url({ alg: "none", typ: "JWT" })}.${base64url(valid)}.`
      expectRejected(yield* verifyAt(unsigned))
    })
  )

  it.effect("rejects a token signed with another key", () =>
    Effect.gen(function* () {
      const other = new TextEncoder().encode("another-secret-another-secret-another")
      expectRejected(yield* verifyAt(yield* Effect.promise(() => sign(valid, { key: other }))), /signature/)
    })
  )

  it.effect("rejects HS256 signed with the RS public key (key confusion)", () =>
    Effect.gen(function* () {
      const { publicKey } = yield* Effect.promise(() => generateKeyPair("RS256", { extractable: true }))
      const pem = yield* Effect.promise(() => exportSPKI(publicKey))
      const forged = yield* Effect.promise(() => sign(valid, { key: new TextEncoder().encode(pem) }))
      expectRejected(yield* verifyAt(forged, { JWT_ALGORITHMS: "RS256", JWT_PUBLIC_KEY: pem }), /algorithm/)
    })
  )

  it.effect("accepts RS256 with the configured public key", () =>
    Effect.gen(function* () {
      const { publicKey, privateKey } = yield* Effect.promise(() => generateKeyPair("RS256", { extractable: true }))
      const pem = yield* Effect.promise(() => exportSPKI(publicKey))
      const token = yield* Effect.promise(() => sign(valid, { alg: "RS256", key: privateKey }))
      assert.isTrue(Exit.isSuccess(yield* verifyAt(token, { JWT_ALGORITHMS: "RS256", JWT_PUBLIC_KEY: pem })))
    })
  )

  it.effect("rejects an expired token (beyond the clock tolerance)", () =>
    Effect.gen(function* () {
      const token = yield* Effect.promise(() => sign({ ...valid, exp: nowSeconds - 31 }))
      expectRejected(yield* verifyAt(token), /expired/)
      const withinTolerance = yield* Effect.promise(() => sign({ ...valid, exp: nowSeconds - 29 }))
      assert.isTrue(Exit.isSuccess(yield* verifyAt(withinTolerance)))
    })
  )

  it.effect("rejects a token whose nbf is in the future", () =>
    Effect.gen(function* () {
      expectRejected(yield* verifyAt(yield* Effect.promise(() => sign({ ...valid, nbf: nowSeconds + 120 }))), /nbf/)
    })
  )

  it.effect("rejects a token without sub", () =>
    Effect.gen(function* () {
      expectRejected(yield* verifyAt(yield* Effect.promise(() => sign({ iat: valid.iat, exp: valid.exp }))), /sub/)
    })
  )

  it.effect("rejects a token without exp", () =>
    Effect.gen(function* () {
      expectRejected(yield* verifyAt(yield* Effect.promise(() => sign({ sub: "alice", iat: valid.iat }))), /exp/)
    })
  )

  it.effect("enforces iss and aud when configured", () =>
    Effect.gen(function* () {
      const env = { JWT_ISSUER: "https://issuer.example", JWT_AUDIENCE: "llm-gateway" }
      const good = yield* Effect.promise(() => sign({ ...valid, iss: env.JWT_ISSUER, aud: env.JWT_AUDIENCE }))
      assert.isTrue(Exit.isSuccess(yield* verifyAt(good, env)))
      const wrongIssuer = yield* Effect.promise(() =>
        sign({ ...valid, iss: "https://evil.example", aud: env.JWT_AUDIENCE })
      )
      expectRejected(yield* verifyAt(wrongIssuer, env), /iss/)
      const wrongAudience = yield* Effect.promise(() => sign({ ...valid, iss: env.JWT_ISSUER, aud: "other" }))
      expectRejected(yield* verifyAt(wrongAudience, env), /aud/)
    })
  )

  it.effect("rejects malformed tokens", () =>
    Effect.gen(function* () {
      for (const malformed of ["abc", "a.b.c", ".."]) {
        expectRejected(yield* verifyAt(malformed), /malformed/)
      }
      // jose checks the signature before it parses the payload.
      expectRejected(yield* verifyAt(`${base64url({ alg: "HS256" })}.not-json.sig`), /signature/)
    })
  )

  it.effect("rejects oversized tokens without parsing them", () =>
    Effect.gen(function* () {
      const huge = yield* Effect.promise(() => sign({ ...valid, padding: "x".repeat(9000) }))
      expectRejected(yield* verifyAt(huge), /too large/)
    })
  )

  it.effect("rejects tokens older than JWT_ACCESS_TOKEN_EXPIRE_MINUTES by iat", () =>
    Effect.gen(function* () {
      const old = yield* Effect.promise(() => sign({ ...valid, iat: nowSeconds - 31 * 60 - 60, exp: nowSeconds + 600 }))
      expectRejected(yield* verifyAt(old, { JWT_ACCESS_TOKEN_EXPIRE_MINUTES: "30" }), /maximum age/)
      assert.isTrue(Exit.isSuccess(yield* verifyAt(old, { JWT_ACCESS_TOKEN_EXPIRE_MINUTES: "0" })))
    })
  )

  it.effect("with a maximum age, refuses a token without iat (a 10-year exp does not skip the age rule)", () =>
    Effect.gen(function* () {
      const ageless = yield* Effect.promise(() => sign({ sub: "alice", exp: nowSeconds + 10 * 365 * 86_400 }))
      expectRejected(yield* verifyAt(ageless), /claim iat is missing/)
      assert.isTrue(Exit.isSuccess(yield* verifyAt(ageless, { JWT_ACCESS_TOKEN_EXPIRE_MINUTES: "0" })))
    })
  )

  it.effect("refuses an iat beyond the clock tolerance in the future, and accepts one within it", () =>
    Effect.gen(function* () {
      const fiveYears = yield* Effect.promise(() =>
        sign({ ...valid, iat: nowSeconds + 5 * 365 * 86_400, exp: nowSeconds + 6 * 365 * 86_400 })
      )
      expectRejected(yield* verifyAt(fiveYears), /iat is in the future/)
      expectRejected(yield* verifyAt(fiveYears, { JWT_ACCESS_TOKEN_EXPIRE_MINUTES: "0" }), /iat is in the future/)
      const beyond = yield* Effect.promise(() => sign({ ...valid, iat: nowSeconds + 31 }))
      expectRejected(yield* verifyAt(beyond), /iat is in the future/)
      const skewed = yield* Effect.promise(() => sign({ ...valid, iat: nowSeconds + 29 }))
      assert.isTrue(Exit.isSuccess(yield* verifyAt(skewed)))
    })
  )
})

describe("Auth: cached verification", () => {
  it.effect("a cached token stops being accepted when it expires", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(now)
      const auth = yield* Auth
      const token = yield* Effect.promise(() => sign({ ...valid, exp: nowSeconds + 60 }))
      assert.strictEqual((yield* auth.verify(token)).id, "alice")
      yield* TestClock.adjust("80 seconds")
      assert.strictEqual((yield* auth.verify(token)).id, "alice", "still within the 30 s tolerance")
      yield* TestClock.adjust("15 seconds")
      expectRejected(yield* Effect.exit(auth.verify(token)), /expired/)
    }).pipe(Effect.provide(authLayer()))
  )
})

describe("Auth: JWKS", () => {
  let server: Server
  let jwksUrl: string
  const keys: Array<object> = []
  let fetches = 0
  /** While true the endpoint answers 503, as an identity provider in an outage. */
  let down = false

  beforeAll(async () => {
    server = createServer((_, response) => {
      fetches++
      if (down) response.writeHead(503).end()
      else response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }))
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const address = server.address()
    jwksUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/jwks.json`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  const addKey = async (kid: string) => {
    const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true })
    keys.push({ ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" })
    return privateKey
  }

  it.live("verifies with the JWKS and picks up a rotated key", () =>
    Effect.gen(function* () {
      const first = yield* Effect.promise(() => addKey("k1"))
      const auth = yield* Auth
      const token1 = yield* Effect.promise(() =>
        new SignJWT({ sub: "bob" })
          .setProtectedHeader({ alg: "ES256", kid: "k1" })
          .setIssuedAt()
          .setExpirationTime("5m")
          .sign(first)
      )
      assert.strictEqual((yield* auth.verify(token1)).id, "bob")
      const second = yield* Effect.promise(() => addKey("k2"))
      const token2 = yield* Effect.promise(() =>
        new SignJWT({ sub: "carol" })
          .setProtectedHeader({ alg: "ES256", kid: "k2" })
          .setIssuedAt()
          .setExpirationTime("5m")
          .sign(second)
      )
      assert.strictEqual((yield* auth.verify(token2)).id, "carol")
      assert.strictEqual(fetches, 2, "an unknown kid refetches the key set once")
      const forged = yield* Effect.promise(() =>
        new SignJWT({ sub: "mallory" })
          .setProtectedHeader({ alg: "HS256", kid: "k1" })
          .setIssuedAt()
          .setExpirationTime("5m")
          .sign(hmac)
      )
      expectRejected(yield* Effect.exit(auth.verify(forged)))
    }).pipe(
      Effect.provide(
        Layer.suspend(() =>
          authLayer({ JWT_ALGORITHMS: "ES256", JWT_JWKS_URL: jwksUrl, JWT_JWKS_COOLDOWN_SECONDS: "0" })
        )
      )
    )
  )

  it.effect("keeps the last good keys through an outage for JWT_JWKS_MAX_STALE_SECONDS, asking once per cooldown", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(now)
      const key = yield* Effect.promise(() => addKey("outage"))
      const auth = yield* Auth
      const tokenAt = (sub: string, at: number) =>
        Effect.promise(() =>
          new SignJWT({ sub, iat: Math.floor(at / 1000) })
            .setProtectedHeader({ alg: "ES256", kid: "outage" })
            .setExpirationTime(Math.floor(at / 1000) + 300)
            .sign(key)
        )
      const before = fetches
      assert.strictEqual((yield* auth.verify(yield* tokenAt("u0", now))).id, "u0")
      assert.strictEqual(fetches, before + 1)

      down = true
      // The keys are due for a refresh after 10 minutes; it fails, and the old keys still verify.
      yield* TestClock.adjust("11 minutes")
      assert.strictEqual((yield* auth.verify(yield* tokenAt("u1", now + 11 * 60_000))).id, "u1")
      assert.strictEqual(fetches, before + 2)
      // Within the cooldown (30 s) nobody asks again, however many tokens arrive.
      for (const sub of ["u2", "u3", "u4"]) {
        assert.strictEqual((yield* auth.verify(yield* tokenAt(sub, now + 11 * 60_000))).id, sub)
      }
      assert.strictEqual(fetches, before + 2)

      // Past the maximum staleness (1 hour after the last good fetch) the old keys are no longer used.
      yield* TestClock.adjust("50 minutes")
      expectRejected(yield* Effect.exit(auth.verify(yield* tokenAt("u5", now + 61 * 60_000))), /out of date/)
      assert.strictEqual(fetches, before + 3)

      // The provider is back: the next fetch (after the cooldown) restores service.
      down = false
      yield* TestClock.adjust("31 seconds")
      assert.strictEqual((yield* auth.verify(yield* tokenAt("u6", now + 62 * 60_000))).id, "u6")
    }).pipe(
      Effect.ensuring(Effect.sync(() => (down = false))),
      Effect.provide(
        Layer.suspend(() =>
          authLayer({ JWT_ALGORITHMS: "ES256", JWT_JWKS_URL: jwksUrl, JWT_JWKS_MAX_STALE_SECONDS: "3600" })
        )
      )
    )
  )
})
