/**
 * The billing endpoints: the transaction listing (paging, validation, privacy) and the admin
 * credits and adjustments.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Money from "../../src/domain/Money.ts"
import { client, parseExact, usd } from "../support/billingClient.ts"
import { authHeaders, startGateway, type TestGateway, token } from "../support/gateway.ts"
import { noRateLimits } from "../support/hammer.ts"
import type { Json } from "../support/json.ts"

let gateway: TestGateway
let api: ReturnType<typeof client>
let admin: string
beforeAll(async () => {
  // Each test opens its own accounts, with dozens of admin credits: more than the admin's per-minute limit.
  gateway = await startGateway(noRateLimits)
  api = client(gateway.url)
  admin = await token("admin-1", { admin: true })
})

const fetchBalance = async (userId: string) =>
  fetch(`${gateway.url}/billing/balance`, { headers: await authHeaders(userId) })
afterAll(() => gateway.close())

let users = 0
const newUser = (label: string) => `${label}-${++users}-${Math.random().toString(36).slice(2, 8)}`

/** An account of its own for each test: the initial balance, then 24 credits of 0.01, 0.02, ...: 25 transactions. */
const pagedUser = async () => {
  const userId = newUser("pages")
  for (let i = 1; i <= 24; i++) {
    const response = await api.credit({ user_id: userId, amount: i / 100, description: `credit ${i}` })
    expect(response.status).toBe(200)
  }
  return userId
}

describe("GET /billing/transactions", () => {
  it("lists newest first, 10 by default, with the total", async () => {
    const userId = await pagedUser()
    const { status, body } = await api.transactions(userId)
    expect(status).toBe(200)
    expect(body).toMatchObject({ user_id: userId, limit: 10, offset: 0, total: 25 })
    expect(body.transactions.map((transaction: Json) => transaction.description)).toEqual(
      Array.from({ length: 10 }, (_, i) => `credit ${24 - i}`)
    )
    for (const transaction of body.transactions) {
      expect(transaction).toMatchObject({ user_id: userId, id: expect.stringMatching(/^txn_\d+$/) })
      expect(new Date(transaction.timestamp).toISOString()).toBe(transaction.timestamp)
    }
    // 100 + (0.01 + 0.02 + ... + 0.24) = 100 + 0.01 × (24 × 25 / 2) = 103.
    expect(usd(body.transactions[0].balance_after)).toBe(usd("103"))
    expect((await api.balance(userId)).balance).toBe(usd("103"))
  })

  it("pages cover every transaction exactly once, and running balances add up", async () => {
    const userId = await pagedUser()
    const seen: Array<Json> = []
    for (let offset = 0; offset < 30; offset += 7) {
      const { body } = await api.transactions(userId, `?limit=7&offset=${offset}`)
      expect(body).toMatchObject({ limit: 7, offset, total: 25 })
      seen.push(...body.transactions)
    }
    expect(seen).toHaveLength(25)
    expect(new Set(seen.map((transaction) => transaction.id)).size).toBe(25)
    const oldestFirst = seen.toReversed()
    expect(oldestFirst[0]).toMatchObject({ description: "Initial balance", amount: 100, balance_after: 100 })
    let running = 0n
    for (const transaction of oldestFirst) {
      running += usd(transaction.amount)
      expect(usd(transaction.balance_after)).toBe(running)
    }
  })

  it.each([
    ["?offset=24", 1],
    ["?offset=25", 0],
    ["?offset=1000&limit=100", 0],
    ["?limit=1", 1],
    ["?limit=100", 25]
  ])("%s returns %i transactions", async (query, count) => {
    const userId = await pagedUser()
    const { status, body } = await api.transactions(userId, query)
    expect(status).toBe(200)
    expect(body.transactions).toHaveLength(count)
    expect(body.total).toBe(25)
  })

  it.each([
    ["?limit=0", "limit"],
    ["?limit=101", "limit"],
    ["?limit=-5", "limit"],
    ["?limit=abc", "limit"],
    ["?limit=2.5", "limit"],
    ["?limit=1e1", "limit"],
    ["?limit=", "limit"],
    ["?offset=-1", "offset"],
    ["?offset=1.5", "offset"],
    ["?offset=x", "offset"],
    ["?limit=5&limit=6", "limit"]
  ])("%s is 400 validation_error naming %s", async (query, param) => {
    const userId = newUser("invalid-page")
    const { status, body } = await api.transactions(userId, query)
    expect(status).toBe(400)
    expect(body).toMatchObject({ code: 400, error_type: "validation_error", error: { param } })
  })

  it("a user only ever sees their own transactions", async () => {
    const userId = await pagedUser()
    const other = newUser("other")
    // Naming another account is for admin tokens (docs/api.md): refused, with nothing of that account in the answer.
    const named = await api.transactions(other, "?limit=100&user_id=" + userId)
    expect(named.status).toBe(403)
    expect(named.body).toMatchObject({ code: 403, error_type: "permission_error" })
    expect(JSON.stringify(named.body)).not.toContain("credit ")
    const { body } = await api.transactions(other, "?limit=100")
    expect(body.user_id).toBe(other)
    expect(body.total).toBe(1)
    expect(body.transactions).toHaveLength(1)
    expect(body.transactions[0]).toMatchObject({ user_id: other, description: "Initial balance" })
    expect((await api.balance(other)).balance).toBe(usd("100"))
  })
})

describe("POST /billing/credits", () => {
  it("refuses tokens without the admin role, and writes nothing", async () => {
    const userId = newUser("victim")
    await api.balance(userId)
    const response = await api.credit({ user_id: userId, amount: 1000 }, false)
    expect(response.status).toBe(403)
    expect(await response.json()).toMatchObject({ code: 403, error_type: "permission_error" })
    expect((await api.transactions(userId)).body.total).toBe(1)
  })

  it("adds credits and adjustments for any user, opening the account if needed", async () => {
    const userId = newUser("topped-up")
    const credited = await api.credit({ user_id: userId, amount: 5.5, description: "Top-up, invoice 42" })
    expect(credited.status).toBe(200)
    expect(await credited.json()).toEqual({ user_id: userId, balance: 105.5, available: 105.5 })
    const adjusted = await api.credit({ user_id: userId, amount: -0.000000001 })
    expect(await adjusted.json()).toMatchObject({ balance: 105.499999999 })
    const { body } = await api.transactions(userId)
    expect(body.transactions.map((transaction: Json) => [transaction.description, transaction.amount])).toEqual([
      ["Adjustment", -0.000000001],
      ["Top-up, invoice 42", 5.5],
      ["Initial balance", 100]
    ])
  })

  it("never takes a balance below zero, nor below what requests in flight hold", async () => {
    const userId = newUser("overdrawn")
    const response = await api.credit({ user_id: userId, amount: -100.000000001 })
    expect(response.status).toBe(400)
    const body = (await response.json()) as Json
    expect(body).toMatchObject({ error_type: "validation_error", error: { param: "amount" } })
    expect(body.detail).toMatch(/below zero/)
    expect((await api.balance(userId)).balance).toBe(usd("100"))
    expect((await api.credit({ user_id: userId, amount: -100 })).status).toBe(200)
    expect((await api.balance(userId)).balance).toBe(0n)
  })

  it("takes the amount as a decimal string, exactly", async () => {
    const userId = newUser("exact-credit")
    const response = await api.credit({ user_id: userId, amount: "12345678.123456789", description: "wire transfer" })
    expect(response.status).toBe(200)
    expect(parseExact(await response.text())).toEqual({
      user_id: userId,
      balance: "12345778.123456789",
      available: "12345778.123456789"
    })
    const { body } = await api.transactions(userId, "", { exact: true })
    expect(body.transactions[0]).toMatchObject({ amount: "12345678.123456789", balance_after: "12345778.123456789" })
  })

  it("takes a JSON number a double holds exactly as written, and refuses, not rounds, one it cannot", async () => {
    const userId = newUser("double-credit")
    // Sent as written: JSON.stringify would print the double's own digits.
    const send = (literal: string) =>
      fetch(`${gateway.url}/billing/credits`, {
        method: "POST",
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
        body: `{"user_id": "${userId}", "amount": ${literal}}`
      })
    const refused = await send("12345678.123456789")
    expect(refused.status).toBe(400)
    const body = (await refused.json()) as Json
    expect(body).toMatchObject({ error_type: "validation_error", error: { param: "amount" } })
    expect(body.detail).toMatch(/send it as a decimal string: "12345678.123456789"/)
    expect((await api.balance(userId)).balance).toBe(usd("100"))
    for (const literal of ["0.1", "12345678.12345679", "1e-9", "2.50"]) expect((await send(literal)).status).toBe(200)
    expect((await api.balance(userId)).balance).toBe(usd("12345780.72345679") + 1n)
  })

  it.each([
    [{ user_id: "x", amount: 0 }, "amount"],
    [{ user_id: "x", amount: "0" }, "amount"],
    [{ user_id: "x", amount: 0.0000000001 }, "amount"],
    [{ user_id: "x", amount: "0.0000000001" }, "amount"],
    [{ user_id: "x", amount: 1e12 }, "amount"],
    [{ user_id: "x", amount: "1000000000.000000001" }, "amount"],
    [{ user_id: "x", amount: "5 USD" }, "amount"],
    [{ user_id: "x", amount: " 5" }, "amount"],
    [{ user_id: "x", amount: "1e3" }, "amount"],
    [{ user_id: "x", amount: true }, "amount"],
    [{ user_id: "", amount: 5 }, "user_id"],
    [{ amount: 5 }, "user_id"],
    [{ user_id: "x", amount: 5, description: "d".repeat(501) }, "description"]
  ])("%j is 400 naming %s", async (payload, param) => {
    const response = await api.credit(payload)
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ error_type: "validation_error", error: { param } })
  })
})

describe("exactness of the amounts in the API", () => {
  it("keeps nano-dollars above what a double holds, through the database, the ledger and the API", async () => {
    const userId = newUser("millionaire")
    await api.setBalance(userId, "9999999.999999999")
    const text = await (await fetchBalance(userId)).text()
    expect(text).toContain('"balance":9999999.999999999')
    const response = await api.chat(userId, { model: "gpt-4", messages: [{ role: "user", content: "Hi" }] })
    expect(response.status).toBe(200)
    const cost = usd(response.headers.get("x-request-cost")!)
    expect(cost).toBeGreaterThan(0n)
    expect(usd(response.headers.get("x-balance-remaining")!)).toBe(usd("9999999.999999999") - cost)
    expect(await api.balance(userId)).toEqual({
      balance: usd("9999999.999999999") - cost,
      available: usd("9999999.999999999") - cost
    })
    const { body } = await api.transactions(userId, "", { exact: true })
    expect(body.transactions.map((transaction: Json) => transaction.balance_after)).toEqual([
      Money.format(usd("9999999.999999999") - cost),
      "9999999.999999999",
      "100"
    ])
    const sum = body.transactions.reduce((total: bigint, transaction: Json) => total + usd(transaction.amount), 0n)
    expect(sum).toBe(usd("9999999.999999999") - cost)
  })

  it("shows on each charge its counts, the unit prices it applied, where the counts came from, and what was uncollected", async () => {
    const userId = newUser("explained")
    const response = await api.chat(userId, { model: "claude-3", messages: [{ role: "user", content: "Hi" }] })
    const { usage } = (await response.json()) as Json
    const { body } = await api.transactions(userId, "", { exact: true })
    expect(body.transactions[0]).toMatchObject({
      model: "claude-3",
      prompt_tokens: usage.prompt_tokens,
      cached_tokens: 0,
      cache_write_tokens: 0,
      completion_tokens: usage.completion_tokens,
      reasoning_tokens: 0,
      usage_source: "provider",
      input_price_per_1m: "0.25",
      cached_input_price_per_1m: "0.03",
      cache_write_price_per_1m: "0.3",
      output_price_per_1m: "1.25",
      uncollected: "0"
    })
    expect(body.transactions[1]).not.toHaveProperty("uncollected")
  })
})
