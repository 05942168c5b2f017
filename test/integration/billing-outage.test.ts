/**
 * When PostgreSQL is unreachable, billable requests fail closed with 503 (never served
 * unbilled), billing reads answer 503 too, and service resumes by itself once it is back.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { client, usd } from "../support/billingClient.ts"
import { type FreshDatabase, freshDatabase } from "../support/database.ts"
import { startGateway, type TestGateway } from "../support/gateway.ts"
import type { Json } from "../support/json.ts"
import { postgresAvailable, testDatabaseUrl } from "../support/services.ts"
import { startTcpProxy, type TcpProxy } from "../support/tcpProxy.ts"

let database: FreshDatabase
let proxy: TcpProxy
let gateway: TestGateway
beforeAll(async () => {
  if (!postgresAvailable) return
  database = await freshDatabase("outage")
  const server = new URL(testDatabaseUrl)
  proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) })
  const throughProxy = new URL(database.url)
  throughProxy.host = `127.0.0.1:${proxy.port}`
  gateway = await startGateway({ DATABASE_URL: throughProxy.toString(), LOG_LEVEL: "none" })
})
afterAll(async () => {
  await gateway?.close()
  await proxy?.close()
  await database?.drop()
})

const hello = { model: "gpt-3.5-turbo", messages: [{ role: "user", content: "Привет!" }] }

describe.skipIf(!postgresAvailable)("PostgreSQL unreachable", () => {
  it("fails billable requests and billing reads closed with 503, then recovers by itself", async () => {
    const api = client(gateway.url)
    expect((await api.chat("outage-user", hello)).status).toBe(200)
    const before = await api.balance("outage-user")

    await proxy.cut()
    for (const body of [hello, { ...hello, stream: true }]) {
      const response = await api.chat("outage-user", body)
      expect(response.status).toBe(503)
      expect(response.headers.get("x-gateway-provider")).toBeNull()
      expect((await response.json()) as Json).toMatchObject({ code: 503, error_type: "service_error" })
    }
    for (const path of ["/billing/balance", "/billing/transactions"]) {
      const { status, body } = await api.get(path, "outage-user")
      expect(status).toBe(503)
      expect(body).toMatchObject({ code: 503, error_type: "service_error" })
    }

    await proxy.restore()
    await vi.waitFor(async () => expect((await api.chat("outage-user", hello)).status).toBe(200), {
      timeout: 20_000,
      interval: 200
    })
    const after = await api.balance("outage-user")
    expect(after.available).toBe(after.balance)
    const { body } = await api.transactions("outage-user", "?limit=100")
    // The initial balance, the request before the outage and the one(s) after it: nothing for the refused ones.
    expect(body.transactions.at(-1).description).toBe("Initial balance")
    expect(body.transactions.filter((transaction: Json) => transaction.request_id).length).toBe(body.total - 1)
    expect(after.balance).toBeLessThan(before.balance)
    const sum = body.transactions.reduce((total: bigint, transaction: Json) => total + usd(transaction.amount), 0n)
    expect(sum).toBe(after.balance)
  }, 60_000)
})
