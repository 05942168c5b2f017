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

const moneyKeys = new Set([
  "balance",
  "available",
  "amount",
  "balance_after",
  "uncollected",
  "spend",
  "input_price_per_1m",
  "cached_input_price_per_1m",
  "cache_write_price_per_1m",
  "output_price_per_1m"
])

/** JSON whose amounts are read as the decimals the gateway wrote (their source text), never through a double. */
export const parseExact = (text: string): Json =>
  JSON.parse(text, (key: string, value: unknown, context?: { readonly source?: string }) =>
    typeof value === "number" && moneyKeys.has(key) && context?.source !== undefined ? context.source : value
  )

export const client = (url: string) => {
  const get = async (path: string, userId: string, options: { readonly exact?: boolean } = {}) => {
    const response = await fetch(url + path, { headers: await authHeaders(userId) })
    const text = await response.text()
    return { status: response.status, body: (options.exact ? parseExact(text) : JSON.parse(text)) as Json }
  }

  const balance = async (userId: string) => {
    const { status, body } = await get("/billing/balance", userId, { exact: true })
    if (status !== 200) throw new Error(`balance: ${status} ${JSON.stringify(body)}`)
    return { balance: usd(body.balance), available: usd(body.available) }
  }

  const transactions = (userId: string, query = "", options: { readonly exact?: boolean } = {}) =>
    get(`/billing/transactions${query}`, userId, options)

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
    const response = await credit({ user_id: userId, amount: Money.format(delta), description: "test setup" })
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
