/**
 * `Idempotency-Key` on chat completions, with Stripe's semantics, against a real PostgreSQL: a repeat gets the
 * stored answer and is not charged or sent upstream again; 409 while the first runs; 422 for another request
 * under the same key; keys are per user; a failure or a client that leaves gives the key back; expired keys run
 * again and are swept. The ledger is checked after each.
 */
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { ProviderAdapters } from "../../src/services/registry/ProviderRegistry.ts"
import { ledgerViolations } from "../support/billing.ts"
import { client } from "../support/billingClient.ts"
import { authHeaders, startGateway, type TestGateway, token } from "../support/gateway.ts"
import { countingUpstream, noRateLimits } from "../support/hammer.ts"
import { ledgerRows } from "../support/ledger.ts"
import { postgresAvailable } from "../support/services.ts"
import { runSql } from "../support/sql.ts"

/** Plain answers take a while, so that a repeat can arrive while the first is in flight. */
const upstream = countingUpstream({ maxChunks: 8, chunkBytes: 10, delayMs: 0, plainMs: 1500 })
let gateway: TestGateway
let databaseUrl: string
beforeAll(async () => {
  gateway = await startGateway(
    { OPENAI_API_KEY: "sk-idempotency", BILLING_SWEEP_INTERVAL_SECONDS: "1", ...noRateLimits },
    { adapters: Layer.succeed(ProviderAdapters, { openai: upstream.provider }) }
  )
  databaseUrl = gateway.databaseUrl!
})
afterAll(() => gateway.close())

let users = 0
const newUser = (label: string) => `${label}-${++users}-${Math.random().toString(36).slice(2, 8)}`
const newKey = () => `key-${crypto.randomUUID()}`

const body = (content = "Say something") => ({
  model: "gpt-4",
  max_tokens: 8,
  messages: [{ role: "user", content }]
})

const send = async (
  userId: string,
  key: string | undefined,
  payload: unknown = body(),
  init: { readonly signal?: AbortSignal } = {}
) => {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { ...(await authHeaders(userId)), ...(key === undefined ? {} : { "idempotency-key": key }) },
    body: JSON.stringify(payload),
    ...init
  })
  return { status: response.status, headers: response.headers, text: await response.text() }
}

const keyRows = (userId: string) =>
  runSql(
    databaseUrl,
    Effect.flatMap(
      SqlClient.SqlClient,
      (sql) => sql<{ readonly key: string; readonly state: string }>`
        SELECT key, state FROM idempotency_keys WHERE user_id = ${userId}`
    )
  )

const expire = (userId: string, key: string) =>
  runSql(
    databaseUrl,
    Effect.flatMap(
      SqlClient.SqlClient,
      (sql) => sql`
        UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE user_id = ${userId} AND key = ${key}`
    )
  )

const upstreamCalls = (requestId: string | null) => upstream.completed.get(requestId ?? "") ?? 0

describe.skipIf(!postgresAvailable)("Idempotency-Key on POST /v1/chat/completions", () => {
  it("answers a repeat with the stored answer, without an upstream call or a second charge", async () => {
    const userId = newUser("repeat")
    const key = newKey()
    const first = await send(userId, key)
    expect(first.status).toBe(200)
    const balanceAfterFirst = await client(gateway.url).balance(userId)

    const repeat = await send(userId, key)
    expect(repeat.status).toBe(200)
    expect(repeat.text).toBe(first.text)
    expect(repeat.headers.get("idempotent-replayed")).toBe("true")
    expect(repeat.headers.get("x-original-request-id")).toBe(first.headers.get("x-request-id"))
    expect(repeat.headers.get("x-request-id")).not.toBe(first.headers.get("x-request-id"))
    for (const name of ["x-request-cost", "x-balance-remaining", "x-gateway-model", "content-type"]) {
      expect(repeat.headers.get(name)).toBe(first.headers.get(name))
    }
    expect(first.headers.get("idempotent-replayed")).toBeNull()

    expect(upstreamCalls(first.headers.get("x-request-id"))).toBe(1)
    expect(upstreamCalls(repeat.headers.get("x-request-id"))).toBe(0)
    expect(await ledgerRows(databaseUrl, [userId])).toEqual({ charges: 1, holds: 0 })
    expect(await client(gateway.url).balance(userId)).toEqual(balanceAfterFirst)
    expect(await runSql(databaseUrl, ledgerViolations([userId]))).toEqual([])
  })

  it("refuses a repeat while the first is running with 409, then replays its answer", async () => {
    const userId = newUser("concurrent")
    const key = newKey()
    const first = send(userId, key)
    await vi.waitFor(async () => expect(await keyRows(userId)).toEqual([{ key, state: "running" }]), {
      timeout: 5000
    })
    const during = await send(userId, key)
    expect(during.status).toBe(409)
    expect(JSON.parse(during.text)).toMatchObject({
      code: 409,
      error_type: "idempotency_error",
      error: { param: "Idempotency-Key", message: expect.stringContaining("still running") }
    })
    const answered = await first
    expect(answered.status).toBe(200)
    const after = await send(userId, key)
    expect(after).toMatchObject({ status: 200, text: answered.text })
    expect(await ledgerRows(databaseUrl, [userId])).toEqual({ charges: 1, holds: 0 })
  })

  it("refuses the same key for another request with 422, and keeps keys per user", async () => {
    const userId = newUser("mismatch")
    const key = newKey()
    expect((await send(userId, key, body("first"))).status).toBe(200)
    const other = await send(userId, key, body("second"))
    expect(other.status).toBe(422)
    expect(JSON.parse(other.text)).toMatchObject({ code: 422, error_type: "idempotency_error" })

    // Another user's key of the same name is theirs: their request runs and is charged to them.
    const neighbour = newUser("neighbour")
    const theirs = await send(neighbour, key, body("first"))
    expect(theirs.status).toBe(200)
    expect(theirs.headers.get("idempotent-replayed")).toBeNull()
    expect(await ledgerRows(databaseUrl, [userId])).toEqual({ charges: 1, holds: 0 })
    expect(await ledgerRows(databaseUrl, [neighbour])).toEqual({ charges: 1, holds: 0 })
  })

  it("gives the key back when the request fails, so that a retry runs it", async () => {
    const userId = newUser("refused")
    const key = newKey()
    const api = client(gateway.url)
    await api.setBalance(userId, "0")
    const refused = await send(userId, key)
    expect(refused.status).toBe(402)
    expect(await keyRows(userId)).toEqual([])
    await api.setBalance(userId, "5")
    const retried = await send(userId, key)
    expect(retried.status).toBe(200)
    expect(retried.headers.get("idempotent-replayed")).toBeNull()
    expect(await ledgerRows(databaseUrl, [userId])).toEqual({ charges: 1, holds: 0 })
  })

  it("gives the key back when the client leaves mid-request", async () => {
    const userId = newUser("leaves")
    const key = newKey()
    const abort = new AbortController()
    const first = send(userId, key, body(), { signal: abort.signal }).catch((error: unknown) => error)
    await vi.waitFor(async () => expect(await keyRows(userId)).toHaveLength(1), { timeout: 5000 })
    abort.abort()
    await first
    await vi.waitFor(async () => expect(await keyRows(userId)).toEqual([]), { timeout: 5000 })
    expect((await send(userId, key)).status).toBe(200)
  })

  it("runs a request again once its key expired, and the sweeper deletes expired keys", async () => {
    const userId = newUser("expired")
    const key = newKey()
    expect((await send(userId, key)).status).toBe(200)
    await expire(userId, key)
    const again = await send(userId, key)
    expect(again.status).toBe(200)
    expect(again.headers.get("idempotent-replayed")).toBeNull()
    expect(await ledgerRows(databaseUrl, [userId])).toEqual({ charges: 2, holds: 0 })

    await expire(userId, key)
    // BILLING_SWEEP_INTERVAL_SECONDS is 1 here.
    await vi.waitFor(async () => expect(await keyRows(userId)).toEqual([]), { timeout: 10_000 })
  })

  it.each([
    ["an empty key", ""],
    ["a key of 256 characters", "k".repeat(256)],
    ["a key with a space", "two words"]
  ])("refuses %s with 400, charging nothing", async (_label, key) => {
    const userId = newUser("bad-key")
    const response = await send(userId, key)
    expect(response.status).toBe(400)
    expect(JSON.parse(response.text)).toMatchObject({ error: { param: "Idempotency-Key" } })
    expect(await ledgerRows(databaseUrl, [userId])).toEqual({ charges: 0, holds: 0 })
  })

  it("refuses a streamed request with a key with 400", async () => {
    const userId = newUser("stream")
    for (const streamed of [{ ...body(), stream: true }]) {
      const response = await send(userId, newKey(), streamed)
      expect(response.status).toBe(400)
      expect(JSON.parse(response.text).error.message).toMatch(/not supported on streamed requests/)
    }
    const viaPath = await fetch(`${gateway.url}/v1/chat/completions/stream`, {
      method: "POST",
      headers: { ...(await authHeaders(userId)), "idempotency-key": newKey() },
      body: JSON.stringify(body())
    })
    expect(viaPath.status).toBe(400)
    expect(await ledgerRows(databaseUrl, [userId])).toEqual({ charges: 0, holds: 0 })
  })

  it("works with the official openai SDK: a key passed as a header is honoured; without one, none is sent", async () => {
    const userId = newUser("sdk")
    const sdk = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: await token(userId), maxRetries: 0 })
    const key = newKey()
    const first = await sdk.chat.completions.create(body() as never, { headers: { "Idempotency-Key": key } })
    const repeat = await sdk.chat.completions.create(body() as never, { headers: { "Idempotency-Key": key } })
    expect(repeat).toEqual(first)
    expect(await ledgerRows(databaseUrl, [userId])).toEqual({ charges: 1, holds: 0 })

    // The SDK sends no idempotency header of its own (its retries would otherwise be deduplicated here).
    await sdk.chat.completions.create(body() as never)
    expect(await keyRows(userId)).toEqual([{ key, state: "done" }])
    expect(await ledgerRows(databaseUrl, [userId])).toEqual({ charges: 2, holds: 0 })
  })
})
