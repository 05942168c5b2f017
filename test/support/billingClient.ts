/**
 * A seed-style client of the gateway's billing: what a user sees through the API, with
 * amounts read back exactly (JSON numbers are parsed as the decimals they print as).
 */
import { vi } from "vitest"
import * as Money from "../../src/domain/Money.ts"
import { authHeaders, token } from "./gateway.ts"
import type { Json } from "./json.ts"

export const usd = (value: number | string): Money.Nanos => {
  const amount = typeof value === "number" ? Money.fromNumber(value) : Money.parse(value)
  if (amount === undefined) throw new Error(`not an exact amount: ${value}`)
  return amount
}

export const client = (url: string) => {
  const get = async (path: string, userId: string) => {
    const response = await fetch(url + path, { headers: await authHeaders(userId) })
    return { status: response.status, body: (await response.json()) as Json }
  }

  const balance = async (userId: string) => {
    const { status, body } = await get("/billing/balance", userId)
    if (status !== 200) throw new Error(`balance: ${status} ${JSON.stringify(body)}`)
    return { balance: usd(body.balance), available: usd(body.available) }
  }

  const transactions = (userId: string, query = "") => get(`/billing/transactions${query}`, userId)

  const chat = async (userId: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { ...(await authHeaders(userId)), ...headers },
      body: JSON.stringify(body)
    })

  const credit = async (body: unknown, asAdmin = true) =>
    fetch(`${url}/billing/credits`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${await token(asAdmin ? "admin-1" : "not-an-admin", { admin: asAdmin })}`,
        "content-type": "application/json"
      },
      body: JSON.stringify(body)
    })

  /** Sets a user's balance by an admin adjustment, opening the account if needed. */
  const setBalance = async (userId: string, amount: string) => {
    const current = await balance(userId)
    const delta = usd(amount) - current.balance
    if (delta === 0n) return
    const response = await credit({ user_id: userId, amount: Money.toNumber(delta), description: "test setup" })
    if (response.status !== 200) throw new Error(`setBalance: ${response.status} ${await response.text()}`)
  }

  /** The charge a request left in the ledger, once its settlement (after the response for streams) is written. */
  const chargeOf = (userId: string, requestId: string) =>
    vi.waitFor(
      async () => {
        const { body } = await transactions(userId, "?limit=100")
        const charge = body.transactions.find((transaction: Json) => transaction.request_id === requestId)
        if (charge === undefined) throw new Error(`no charge for ${requestId} yet`)
        return charge as Json
      },
      { timeout: 5000, interval: 10 }
    )

  return { get, balance, transactions, chat, credit, setBalance, chargeOf }
}
