/**
 * Usage reports and the operators' reads: GET /billing/usage against a seeded ledger (days, models, periods,
 * pages, who may read whose) and against a ledger written by the hammer, compared with a direct SQL sum;
 * GET /billing/accounts; admins reading another user's balance and transactions.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Money from "../../src/domain/Money.ts"
import { ledgerViolations } from "../support/billing.ts"
import { client, parseExact, usd } from "../support/billingClient.ts"
import { startGateway, type TestGateway, token } from "../support/gateway.ts"
import { hammer, noRateLimits } from "../support/hammer.ts"
import type { Json } from "../support/json.ts"
import { type SeededCharge, seedCharges } from "../support/ledgerSeed.ts"
import { postgresAvailable } from "../support/services.ts"
import { runSql } from "../support/sql.ts"

let gateway: TestGateway
let databaseUrl: string
beforeAll(async () => {
  gateway = await startGateway(noRateLimits)
  databaseUrl = gateway.databaseUrl!
})
afterAll(() => gateway.close())

let users = 0
const newUser = (label: string) => `${label}-${++users}-${Math.random().toString(36).slice(2, 8)}`

const get = async (path: string, as: { readonly userId: string; readonly admin?: boolean }) => {
  const response = await fetch(gateway.url + path, {
    headers: { authorization: `Bearer ${await token(as.userId, { admin: as.admin ?? false })}` }
  })
  return { status: response.status, body: parseExact(await response.text()) as Json }
}
const admin = { userId: "admin-usage", admin: true }

const charge = (at: string, model: string, cost: string, promptTokens: number, completionTokens: number) =>
  ({ at: new Date(at), model, cost, promptTokens, completionTokens }) satisfies SeededCharge

/** Three days of two models, with charges on both sides of midnight UTC. */
const seeded = [
  charge("2026-03-01T00:00:00.000Z", "gpt-4o", "0.000000001", 1, 1),
  charge("2026-03-01T12:00:00.000Z", "gpt-4o", "0.1", 100, 10),
  charge("2026-03-01T23:59:59.999Z", "claude-sonnet-4", "0.25", 200, 20),
  charge("2026-03-02T00:00:00.000Z", "claude-sonnet-4", "0.5", 300, 30),
  charge("2026-03-04T08:00:00.000Z", "gpt-4o", "1.000000009", 400, 40)
]

describe.skipIf(!postgresAvailable)("GET /billing/usage", () => {
  it("sums a seeded ledger per day, per model, and per day and model, exactly", async () => {
    const userId = newUser("usage")
    await seedCharges(databaseUrl, userId, seeded)
    const period = "from=2026-03-01&to=2026-03-05"

    const byDay = await get(`/billing/usage?${period}`, { userId })
    expect(byDay.status).toBe(200)
    expect(byDay.body).toMatchObject({
      user_id: userId,
      from: "2026-03-01",
      to: "2026-03-05",
      group_by: ["day"],
      limit: 100,
      offset: 0,
      total: 3
    })
    // 2026-03-03 had no charges: it is absent.
    expect(byDay.body.data).toEqual([
      {
        day: "2026-03-01",
        requests: 3,
        spend: "0.350000001",
        prompt_tokens: 301,
        completion_tokens: 31,
        cached_tokens: 0,
        reasoning_tokens: 0
      },
      expect.objectContaining({ day: "2026-03-02", requests: 1, spend: "0.5", prompt_tokens: 300 }),
      expect.objectContaining({ day: "2026-03-04", requests: 1, spend: "1.000000009", completion_tokens: 40 })
    ])
    expect(byDay.body.totals).toEqual({
      requests: 5,
      spend: "1.85000001",
      prompt_tokens: 1001,
      completion_tokens: 101,
      cached_tokens: 0,
      reasoning_tokens: 0
    })

    const byModel = await get(`/billing/usage?${period}&group_by=model`, { userId })
    expect(byModel.body.group_by).toEqual(["model"])
    expect(byModel.body.data.map((group: Json) => [group.model, group.requests, group.spend])).toEqual([
      ["claude-sonnet-4", 2, "0.75"],
      ["gpt-4o", 3, "1.10000001"]
    ])
    expect(byModel.body.data[0]).not.toHaveProperty("day")

    const both = await get(`/billing/usage?${period}&group_by=day,model`, { userId })
    expect(both.body.group_by).toEqual(["day", "model"])
    expect(both.body.data.map((group: Json) => `${group.day} ${group.model} ${group.spend}`)).toEqual([
      "2026-03-01 claude-sonnet-4 0.25",
      "2026-03-01 gpt-4o 0.100000001",
      "2026-03-02 claude-sonnet-4 0.5",
      "2026-03-04 gpt-4o 1.000000009"
    ])
    expect(both.body.totals).toEqual(byDay.body.totals)
  })

  it("counts from inclusive and to exclusive, and pages groups with the whole period's totals", async () => {
    const userId = newUser("period")
    await seedCharges(databaseUrl, userId, seeded)
    const oneDay = await get("/billing/usage?from=2026-03-02&to=2026-03-03", { userId })
    expect(oneDay.body.data.map((group: Json) => group.day)).toEqual(["2026-03-02"])
    expect(oneDay.body.totals.requests).toBe(1)

    const pages: Array<Json> = []
    for (let offset = 0; offset < 5; offset += 2) {
      const page = await get(
        `/billing/usage?from=2026-03-01&to=2026-03-05&group_by=day,model&limit=2&offset=${offset}`,
        {
          userId
        }
      )
      expect(page.body).toMatchObject({ limit: 2, offset, total: 4 })
      expect(page.body.totals.requests).toBe(5)
      pages.push(...page.body.data)
    }
    expect(pages.map((group: Json) => `${group.day} ${group.model}`)).toEqual([
      "2026-03-01 claude-sonnet-4",
      "2026-03-01 gpt-4o",
      "2026-03-02 claude-sonnet-4",
      "2026-03-04 gpt-4o"
    ])
  })

  it("defaults to the last 30 days, today included", async () => {
    const userId = newUser("recent")
    const now = new Date()
    await seedCharges(databaseUrl, userId, [
      charge(now.toISOString(), "gpt-4o", "0.2", 10, 1),
      charge(new Date(now.getTime() - 40 * 24 * 3600 * 1000).toISOString(), "gpt-4o", "0.3", 10, 1)
    ])
    const { status, body } = await get("/billing/usage", { userId })
    expect(status).toBe(200)
    const tomorrow = new Date(now.getTime() + 24 * 3600 * 1000).toISOString().slice(0, 10)
    expect(body.to).toBe(tomorrow)
    expect((Date.parse(body.to) - Date.parse(body.from)) / (24 * 3600 * 1000)).toBe(30)
    expect(body.totals).toMatchObject({ requests: 1, spend: "0.2" })
  })

  it("lets a user read only their own usage, and an admin anyone's or everyone's", async () => {
    const alice = newUser("alice")
    const bob = newUser("bob")
    await seedCharges(databaseUrl, alice, [charge("2026-04-01T10:00:00Z", "gpt-4o", "0.5", 5, 5)])
    await seedCharges(databaseUrl, bob, [charge("2026-04-01T11:00:00Z", "gpt-4o", "0.25", 5, 5)])
    const period = "from=2026-04-01&to=2026-04-02"

    const denied = await get(`/billing/usage?${period}&user_id=${bob}`, { userId: alice })
    expect(denied.status).toBe(403)
    expect(denied.body.error).toMatchObject({ type: "permission_error" })
    expect((await get(`/billing/usage?${period}&all_users=true`, { userId: alice })).status).toBe(403)
    // Naming oneself is not reading someone else's.
    expect((await get(`/billing/usage?${period}&user_id=${alice}`, { userId: alice })).body.totals.spend).toBe("0.5")

    const ofBob = await get(`/billing/usage?${period}&user_id=${bob}`, admin)
    expect(ofBob.body).toMatchObject({ user_id: bob, totals: { requests: 1, spend: "0.25" } })

    const everyone = await get(`/billing/usage?${period}&all_users=true&group_by=model`, admin)
    expect(everyone.body.user_id).toBeNull()
    const direct = await runSql(
      databaseUrl,
      Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql<{ readonly spend: string; readonly requests: number }>`
          SELECT (-sum(amount))::text AS spend, count(*)::int AS requests FROM billing_transactions
          WHERE kind = 'charge' AND created_at >= '2026-04-01T00:00:00Z' AND created_at < '2026-04-02T00:00:00Z'`
      )
    )
    expect(usd(everyone.body.totals.spend)).toBe(usd(direct[0]!.spend))
    expect(everyone.body.totals.requests).toBe(direct[0]!.requests)
    expect(everyone.body.totals.requests).toBeGreaterThanOrEqual(2)
  })

  it.each([
    ["from=2026-02-31&to=2026-03-05", "from"],
    ["from=2026-03-05T00:00:00Z", "from"],
    ["from=2026-03-05&to=2026-03-05", "from"],
    ["from=2026-03-06&to=2026-03-05", "from"],
    ["from=2025-01-01&to=2026-01-03", "from"],
    ["group_by=week", "group_by"],
    ["limit=0", "limit"],
    ["limit=1001", "limit"],
    ["offset=-1", "offset"]
  ])("refuses %s with a 400 naming %s", async (query, param) => {
    const { status, body } = await get(`/billing/usage?${query}`, { userId: newUser("bad") })
    expect(status).toBe(400)
    expect(body.error).toMatchObject({ type: "validation_error" })
    expect(body.error.message).toContain(param)
  })

  it("refuses naming one user and all users at once", async () => {
    const { status, body } = await get(`/billing/usage?user_id=someone&all_users=true`, admin)
    expect(status).toBe(400)
    expect(body.error.message).toMatch(/not both/)
  })

  it("equals a direct SQL sum of a ledger written by the hammer", async () => {
    const sent = await hammer(gateway, newUser("hammered"), { users: 4, requests: 120, workers: 12 })
    const userIds = [...new Set(sent.map((request) => request.userId))]
    expect(sent.filter((request) => request.status === 200).length).toBeGreaterThan(100)
    expect(await runSql(databaseUrl, ledgerViolations(userIds))).toEqual([])
    const today = new Date().toISOString().slice(0, 10)
    const tomorrow = new Date(Date.now() + 24 * 3600 * 1000).toISOString().slice(0, 10)
    for (const userId of userIds) {
      const report = await get(`/billing/usage?from=${today}&to=${tomorrow}&group_by=model`, { userId })
      const [direct] = await runSql(
        databaseUrl,
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql<{
            readonly requests: number
            readonly spend: string
            readonly prompt_tokens: number
            readonly completion_tokens: number
          }>`
            SELECT count(*)::int AS requests, (-sum(amount))::text AS spend,
                   sum(prompt_tokens)::int AS prompt_tokens, sum(completion_tokens)::int AS completion_tokens
            FROM billing_transactions WHERE kind = 'charge' AND user_id = ${userId}`
        )
      )
      expect(report.body.totals).toMatchObject({
        requests: direct!.requests,
        prompt_tokens: direct!.prompt_tokens,
        completion_tokens: direct!.completion_tokens
      })
      expect(usd(report.body.totals.spend)).toBe(usd(direct!.spend))
      expect(report.body.data).toEqual([expect.objectContaining({ model: "gpt-4", requests: direct!.requests })])
      // What the API answered equals what its clients were told each request cost.
      const told = sent
        .filter((request) => request.userId === userId && request.cost !== undefined)
        .reduce((sum, request) => sum + request.cost!, 0n)
      expect(Money.format(usd(report.body.totals.spend))).toBe(Money.format(told))
    }
  })
})

describe.skipIf(!postgresAvailable)("GET /billing/transactions filtered", () => {
  it("lists only the kind and model asked for, paged within them, with their total", async () => {
    const userId = newUser("filtered")
    await seedCharges(databaseUrl, userId, seeded)
    const list = (query: string) => get(`/billing/transactions?${query}`, { userId })

    // The seed: an initial balance, a credit, then five charges (three gpt-4o, two claude-sonnet-4).
    expect((await list("limit=100")).body.total).toBe(7)
    const charges = await list("kind=charge&limit=2")
    expect(charges.body).toMatchObject({ total: 5, limit: 2, offset: 0 })
    expect(charges.body.transactions.map((row: Json) => row.model)).toEqual(["gpt-4o", "claude-sonnet-4"])
    const gpt = await list("model=gpt-4o&limit=2&offset=2")
    expect(gpt.body).toMatchObject({ total: 3, offset: 2 })
    expect(gpt.body.transactions.map((row: Json) => row.amount)).toEqual(["-0.000000001"])
    const credits = await list("kind=credit")
    expect(credits.body.total).toBe(1)
    expect(credits.body.transactions[0]).toMatchObject({ description: "Seed credit" })
    expect((await list("kind=charge&model=nothing")).body).toMatchObject({ total: 0, transactions: [] })
    expect((await list("kind=refund")).status).toBe(400)
  })
})

describe.skipIf(!postgresAvailable)("GET /billing/accounts", () => {
  it("lists, searches, sorts and pages accounts for admins only", async () => {
    const prefix = newUser("Listed_%")
    const funded = [
      [`${prefix}-a`, "0.5"],
      [`${prefix}-b`, "3"],
      [`${prefix}-c`, "1.25"]
    ] as const
    const api = client(gateway.url)
    for (const [userId, balance] of funded) await api.setBalance(userId, balance)
    // `%` and `_` in the search are matched as themselves, and case does not matter.
    const search = encodeURIComponent(prefix.toUpperCase())

    const byBalance = await get(`/billing/accounts?search=${search}&sort=balance&order=desc`, admin)
    expect(byBalance.status).toBe(200)
    expect(byBalance.body).toMatchObject({ limit: 20, offset: 0, total: 3 })
    expect(byBalance.body.accounts.map((account: Json) => [account.user_id, account.balance])).toEqual([
      [`${prefix}-b`, "3"],
      [`${prefix}-c`, "1.25"],
      [`${prefix}-a`, "0.5"]
    ])
    for (const account of byBalance.body.accounts) {
      expect(account.available).toBe(account.balance)
      expect(new Date(account.updated_at).toISOString()).toBe(account.updated_at)
    }

    const second = await get(`/billing/accounts?search=${search}&limit=2&offset=2`, admin)
    expect(second.body).toMatchObject({ limit: 2, offset: 2, total: 3 })
    expect(second.body.accounts.map((account: Json) => account.user_id)).toEqual([`${prefix}-c`])
    const beyond = await get(`/billing/accounts?search=${search}&offset=10`, admin)
    expect(beyond.body).toMatchObject({ accounts: [], total: 3 })

    const notAdmin = await get(`/billing/accounts`, { userId: `${prefix}-a` })
    expect(notAdmin.status).toBe(403)
    expect((await get(`/billing/accounts?sort=secret`, admin)).status).toBe(400)
  })
})

describe.skipIf(!postgresAvailable)("admins reading another user's account", () => {
  it("reads balance and transactions of an existing account, and never opens one by reading it", async () => {
    const userId = newUser("read")
    await client(gateway.url).setBalance(userId, "7.5")
    const balance = await get(`/billing/balance?user_id=${userId}`, admin)
    expect(balance).toMatchObject({ status: 200, body: { user_id: userId, balance: "7.5", available: "7.5" } })
    const transactions = await get(`/billing/transactions?user_id=${userId}&limit=5`, admin)
    expect(transactions.status).toBe(200)
    expect(transactions.body).toMatchObject({ user_id: userId, total: 2, limit: 5 })

    const missing = newUser("missing")
    for (const path of [`/billing/balance?user_id=${missing}`, `/billing/transactions?user_id=${missing}`]) {
      const { status, body } = await get(path, admin)
      expect(status).toBe(404)
      expect(body.error.message).toContain(missing)
    }
    const listed = await get(`/billing/accounts?search=${missing}`, admin)
    expect(listed.body.total).toBe(0)
  })

  it("refuses a user naming another user's account, and serves one naming their own", async () => {
    const userId = newUser("own")
    const other = await get(`/billing/balance?user_id=someone-else`, { userId })
    expect(other.status).toBe(403)
    expect((await get(`/billing/transactions?user_id=someone-else`, { userId })).status).toBe(403)
    const own = await get(`/billing/balance?user_id=${userId}`, { userId })
    expect(own).toMatchObject({ status: 200, body: { user_id: userId } })
  })
})
