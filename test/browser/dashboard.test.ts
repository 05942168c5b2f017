/**
 * The dashboard in a real browser (headless Chromium): a user's and an admin's views against a running gateway on
 * a real PostgreSQL, an OpenAI fake that answers (and, when told, fails), and screenshots of every view at desktop
 * and phone width in `screenshots/`.
 */
import { SignJWT } from "jose"
import type { Browser, BrowserContext, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Money from "../../src/domain/Money.ts"
import type { FakeUpstream } from "../fakes/FakeUpstream.ts"
import { startOpenAIFake } from "../fakes/openai.ts"
import { browserAvailable, launchBrowser, screenshots, widths } from "../support/browser.ts"
import { secret, startGateway, type TestGateway, token } from "../support/gateway.ts"
import { noRateLimits } from "../support/hammer.ts"
import { postgresAvailable } from "../support/services.ts"
import { seedCharges } from "../support/ledgerSeed.ts"

let fake: FakeUpstream
let gateway: TestGateway
let browser: Browser
let context: BrowserContext
let admin: string

beforeAll(async () => {
  if (!browserAvailable || !postgresAvailable) return
  fake = await startOpenAIFake("sk-fake")
  gateway = await startGateway({
    ...noRateLimits,
    OPENAI_API_KEY: "sk-fake",
    OPENAI_BASE_URL: `${fake.url}/v1`,
    RETRY_ENABLED: "false",
    CIRCUIT_BREAKER_FAILURE_THRESHOLD: "2"
  })
  browser = await launchBrowser()
  context = await browser.newContext({ viewport: widths.desktop })
  // Under the test's own timeout, so that a missing element fails with Playwright's description of it.
  context.setDefaultTimeout(15_000)
  admin = await token("operator", { admin: true })
})
afterAll(async () => {
  await context?.close()
  await browser?.close()
  await gateway?.close()
  await fake?.close()
})

let users = 0
const newUser = (label: string) => `${label}-${++users}-${Math.random().toString(36).slice(2, 8)}`

const api = async (path: string, bearer: string, init: RequestInit = {}) => {
  const response = await fetch(`${gateway.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" }
  })
  const text = await response.text()
  return { status: response.status, text }
}

/** Amounts as exact nanos: the `amount` literals of a JSON body, in order. */
const amountsOf = (text: string, key: string): Array<Money.Nanos> =>
  [...text.matchAll(new RegExp(`"${key}":(-?[0-9.]+)`, "g"))].map((match) => Money.parse(match[1]!)!)

/** How the dashboard writes an amount: at least two decimals, every digit kept. */
const shown = (nanos: Money.Nanos): string => {
  const [whole, fraction = ""] = Money.format(nanos < 0n ? -nanos : nanos).split(".")
  return `${nanos < 0n ? "−" : ""}$${Number(whole).toLocaleString("en-US")}.${fraction.padEnd(2, "0")}`
}

const chat = async (userId: string, model = "gpt-4") =>
  api(`/v1/chat/completions`, await token(userId), {
    method: "POST",
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hello there" }], max_tokens: 20 })
  })

const signIn = async (bearer: string, path = "/dashboard"): Promise<Page> => {
  const page = await context.newPage()
  await page.goto(`${gateway.url}${path}`)
  await page.getByLabel("Gateway token").fill(bearer)
  await page.getByRole("button", { name: "Sign in" }).click()
  await page.getByTestId("signed-in").waitFor()
  return page
}

/**
 * What the page shows once it has caught up: the browser renders after its API calls answer, which on a loaded CI
 * machine takes more than expect.poll's default second.
 */
const eventually = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 100 })

const utcDay = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10)

describe.skipIf(!browserAvailable || !postgresAvailable)("the dashboard", () => {
  it("is served from memory with a policy that lets it run only its own files", async () => {
    const page = await fetch(`${gateway.url}/dashboard`)
    expect(page.status).toBe(200)
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8")
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'")
    expect(page.headers.get("content-security-policy")).toContain("connect-src 'self'")
    const etag = page.headers.get("etag")!
    expect((await fetch(`${gateway.url}/dashboard/app.js`, { headers: { "if-none-match": etag } })).status).toBe(200)
    expect((await fetch(`${gateway.url}/dashboard`, { headers: { "if-none-match": etag } })).status).toBe(304)
    const script = await fetch(`${gateway.url}/dashboard/app.js`)
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8")
    const missing = await fetch(`${gateway.url}/dashboard/tsconfig.json`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ code: 404, error_type: "not_found_error" })
  })

  it("signs a user in: balance, rate limits, spend per day for a seeded ledger, and paged transactions", async () => {
    const userId = newUser("alice")
    // Five charges at midnight UTC 0, 2, 2, 5 and 9 days ago (one of a billionth of a dollar), then 20 credits.
    const midnight = (daysAgo: number) => new Date(Date.parse(`${utcDay(daysAgo)}T00:00:00Z`))
    const seeded = [
      [0, "0.25"],
      [2, "0.1"],
      [2, "0.000000001"],
      [5, "1.5"],
      [9, "0.75"]
    ] as const
    await seedCharges(
      gateway.databaseUrl!,
      userId,
      seeded.map(([daysAgo, cost]) => ({
        at: midnight(daysAgo),
        model: "gpt-4",
        cost,
        promptTokens: 10,
        completionTokens: 5
      }))
    )
    for (let i = 1; i <= 20; i++) {
      const credit = await api("/billing/credits", admin, {
        method: "POST",
        body: JSON.stringify({ user_id: userId, amount: "0.01", description: `credit ${i}` })
      })
      expect(credit.status).toBe(200)
    }
    const ledger = await api(`/billing/transactions?limit=1`, await token(userId))
    const total = Number(/"total":(\d+)/.exec(ledger.text)![1])
    expect(total).toBeGreaterThanOrEqual(25)
    const balance = amountsOf((await api("/billing/balance", await token(userId))).text, "balance")[0]!
    const spentPerDay = new Map<string, Money.Nanos>()
    for (const [daysAgo, cost] of seeded)
      spentPerDay.set(utcDay(daysAgo), (spentPerDay.get(utcDay(daysAgo)) ?? 0n) + Money.parse(cost)!)

    const page = await signIn(await token(userId))
    await eventually(() => page.getByTestId("signed-in").textContent()).toBe(`Signed in as ${userId}`)
    await eventually(() => page.getByTestId("balance").textContent()).toBe(shown(balance))
    // No operator views for a user.
    expect(await page.getByRole("link", { name: "Accounts" }).count()).toBe(0)
    await page.getByRole("cell", { name: "reads" }).waitFor()

    // The last 10 days: 10 points, spend on 4 of them.
    await page.getByLabel("First day").fill(utcDay(9))
    await page.getByLabel("Last day").fill(utcDay(0))
    await page.getByRole("button", { name: "Show" }).click()
    const chart = page.locator("figure.chart", { hasText: "Spend per day" })
    await eventually(() => chart.getAttribute("data-points")).toBe("10")
    const rows = await Promise.all(
      (await chart.locator("tbody tr").all()).map((row) => row.locator("td").allTextContents())
    )
    expect(rows).toHaveLength(10)
    // Every day of the period, in order, with what was spent on it: exact, the billionth included.
    expect(rows).toEqual(
      Array.from({ length: 10 }, (_, i) => utcDay(9 - i)).map((day) => [day, shown(spentPerDay.get(day) ?? 0n)])
    )
    // One bar a day; those of the 4 days with charges are drawn.
    const heights = await Promise.all((await chart.locator("rect.bar").all()).map((bar) => bar.getAttribute("height")))
    expect(heights).toHaveLength(10)
    expect(heights.filter((height) => Number(height) > 0)).toHaveLength(4)
    const spentInAll = [...spentPerDay.values()].reduce((sum, spend) => sum + spend, 0n)
    await page.getByText(`${shown(spentInAll)} spent on 5 requests`).waitFor()
    await page.getByRole("cell", { name: "gpt-4", exact: true }).first().waitFor()
    await screenshots(page, "user-account")

    // Paging, 10 a page, newest first.
    const range = page.getByTestId("transactions-range")
    const tableRows = page.locator("section", { hasText: "Transactions" }).locator("tbody tr")
    await eventually(() => range.textContent()).toBe(`1–10 of ${total}`)
    expect(await tableRows.count()).toBe(10)
    expect(await tableRows.first().locator("td").nth(2).textContent()).toBe("credit 20")
    await page.getByRole("button", { name: "Next" }).click()
    await eventually(() => range.textContent()).toBe(`11–20 of ${total}`)
    expect(await tableRows.first().locator("td").nth(2).textContent()).toBe("credit 10")
    const lastPage = Math.floor((total - 1) / 10) * 10
    for (let offset = 20; offset <= lastPage; offset += 10) await page.getByRole("button", { name: "Next" }).click()
    await eventually(() => range.textContent()).toBe(`${lastPage + 1}–${total} of ${total}`)
    expect(await tableRows.count()).toBe(total - lastPage)
    expect(await page.getByRole("button", { name: "Next" }).isDisabled()).toBe(true)
    await page.getByRole("button", { name: "Previous" }).click()
    await eventually(() => range.textContent()).toBe(`${lastPage - 9}–${lastPage} of ${total}`)
    // The filters are the API's: pages and totals are those of the matching transactions.
    await page.getByLabel("Kind").selectOption("charge")
    await eventually(() => range.textContent()).toBe("1–5 of 5")
    expect(await tableRows.count()).toBe(5)
    await page.getByLabel("Model", { exact: true }).fill("gpt-4o")
    await page.getByRole("button", { name: "Filter" }).click()
    await eventually(() => range.textContent()).toBe("0 of 0")
    await page.getByLabel("Model", { exact: true }).fill("gpt-4")
    await page.getByRole("button", { name: "Filter" }).click()
    await eventually(() => range.textContent()).toBe("1–5 of 5")
    await page.getByLabel("Model", { exact: true }).fill("")
    await page.getByLabel("Kind").selectOption("credit")
    // The seed's own credit and the 20 above.
    await eventually(() => range.textContent()).toBe("1–10 of 21")
    expect(await tableRows.count()).toBe(10)
    await page.close()
  })

  it("signs an admin in: accounts, one account's page, and a top-up that changes its balance", async () => {
    const userId = newUser("bob")
    expect((await chat(userId)).status).toBe(200)
    const before = amountsOf((await api("/billing/balance", await token(userId))).text, "balance")[0]!

    const page = await signIn(admin)
    await eventually(() => page.getByTestId("signed-in").textContent()).toBe("Signed in as operator (admin)")
    await page.getByRole("link", { name: "Accounts" }).click()
    await page.getByLabel("User id contains").fill(userId)
    await page.getByRole("button", { name: "Search" }).click()
    await page.getByRole("link", { name: userId }).waitFor()
    await screenshots(page, "admin-accounts")
    await page.getByRole("link", { name: userId }).click()

    await page.getByRole("heading", { name: `Account ${userId}` }).waitFor()
    await eventually(() => page.getByTestId("balance").textContent()).toBe(shown(before))
    await page.getByLabel("Amount (USD)").fill("12.5")
    await page.getByLabel("Description (optional)").fill("Top-up from the dashboard test")
    await page.getByRole("button", { name: "Add credit" }).click()
    await page.getByText(`Add $12.50 to ${userId}'s account?`).waitFor()
    await page.getByRole("button", { name: "Confirm" }).click()
    const after = before + Money.parse("12.5")!
    await page.getByText(`Done: ${userId}'s balance is now ${shown(after)}.`).waitFor()
    await eventually(() => page.getByTestId("balance").textContent()).toBe(shown(after))
    expect(amountsOf((await api("/billing/balance", await token(userId))).text, "balance")[0]).toBe(after)
    // The credit heads the account's transactions.
    const newest = page.locator("section", { hasText: "Transactions" }).locator("tbody tr").first()
    await eventually(() => newest.locator("td").nth(2).textContent()).toBe("Top-up from the dashboard test")
    await screenshots(page, "admin-account")
    await page.close()
  })

  it("lets an admin search, sort and page the accounts", async () => {
    // 22 accounts: the initial balance plus 1, 2, … 22 dollars.
    const prefix = newUser("zed")
    for (let i = 1; i <= 22; i++) {
      const credit = await api("/billing/credits", admin, {
        method: "POST",
        body: JSON.stringify({ user_id: `${prefix}-${String(i).padStart(2, "0")}`, amount: String(i) })
      })
      expect(credit.status).toBe(200)
    }
    const page = await signIn(admin)
    await page.getByRole("link", { name: "Accounts" }).click()
    await page.getByLabel("User id contains").fill(prefix)
    await page.getByRole("button", { name: "Search" }).click()
    const range = page.locator("nav[aria-label='Account pages'] span")
    const firstUser = page.locator("tbody tr").first().locator("td").first()
    await eventually(() => range.textContent()).toBe("1–20 of 22")
    expect(await firstUser.textContent()).toBe(`${prefix}-01`)
    await page.getByRole("button", { name: "Next" }).click()
    await eventually(() => range.textContent()).toBe("21–22 of 22")
    expect(await page.locator("tbody tr").count()).toBe(2)

    await page.getByLabel("Sort by").selectOption("balance")
    await page.getByLabel("Order").selectOption("desc")
    await page.getByRole("button", { name: "Search" }).click()
    await eventually(() => range.textContent()).toBe("1–20 of 22")
    expect(await firstUser.textContent()).toBe(`${prefix}-22`)
    await page.close()
  })

  it("shows a model's breaker turn open after upstream failures, live", async () => {
    const page = await signIn(admin, "/dashboard?refresh=1")
    await page.getByRole("link", { name: "Health" }).click()
    // Seen by the earlier tests' requests: closed.
    const badge = page.getByTestId("breaker-gpt-4")
    await eventually(() => badge.textContent()).toBe("closed")
    await eventually(() => page.locator("figure.chart[data-points='60']").count()).toBe(3)

    fake.script({ kind: "error", status: 500 }, { kind: "error", status: 500 })
    const userId = newUser("carol")
    for (let i = 0; i < 2; i++) expect((await chat(userId)).status).not.toBe(200)
    await eventually(() => badge.textContent()).toBe("OPEN")
    await page.getByRole("row", { name: /gpt-4 OPEN 2 of 2/ }).waitFor()
    await screenshots(page, "admin-health")
    await page.close()
  })

  it("says why a token is refused: expired, badly signed, not a token at all, or expired while the page is open", async () => {
    const page = await context.newPage()
    await page.goto(`${gateway.url}/dashboard`)
    await screenshots(page, "sign-in")
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject("late-user")
      .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(secret)
    const field = page.getByLabel("Gateway token")
    const signInButton = page.getByRole("button", { name: "Sign in" })
    await field.fill(expired)
    await signInButton.click()
    const alert = page.getByRole("alert")
    await eventually(() => alert.textContent()).toMatch(/^This token expired on .* UTC\. Ask for a new one\./)
    expect(await alert.textContent()).toContain("token expired")
    await screenshots(page, "sign-in-expired")
    expect(await page.evaluate<number>("sessionStorage.length")).toBe(0)

    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject("mallory")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode("not-the-gateway-secret-not-the-gateway-secret"))
    await field.fill(forged)
    await signInButton.click()
    await eventually(() => alert.textContent()).toMatch(/^The gateway refused this token: Invalid or missing/)

    await field.fill("hello")
    await signInButton.click()
    await eventually(() => alert.textContent()).toMatch(/^That is not a gateway token/)

    // A token that expires while the page is open: the next call's 401 ends the session, saying why.
    await field.fill(await token(newUser("frank")))
    await signInButton.click()
    await page.getByTestId("balance").waitFor()
    await page.evaluate(`sessionStorage.setItem("gateway-dashboard-token", ${JSON.stringify(expired)})`)
    await page.reload()
    await page.getByRole("heading", { name: "Sign in" }).waitFor()
    await expect
      .poll(() => page.getByRole("alert").first().textContent())
      .toMatch(/^Your session ended\. This token expired on .* UTC\./)
    expect(await page.evaluate<number>("sessionStorage.length")).toBe(0)
    await page.close()
  })

  it("shows the API's refusal as a message when a user opens an operator view", async () => {
    const page = await signIn(await token(newUser("dave")))
    await page.evaluate('location.hash = "#/health"')
    await page.getByText("Only an admin token may read the traffic").first().waitFor()
    await page.close()
  })

  it("is used by keyboard alone, and readable in dark mode", async () => {
    const dark = await browser.newContext({ viewport: widths.desktop, colorScheme: "dark" })
    dark.setDefaultTimeout(15_000)
    const page = await dark.newPage()
    await page.goto(`${gateway.url}/dashboard`)
    // The token field has the focus; Tab reaches the button, Enter presses it.
    await page.getByLabel("Gateway token").waitFor()
    await page.keyboard.type(await token(newUser("erin")))
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await page.getByTestId("balance").waitFor()
    // The view takes the focus; Tab goes on into it. The skip link moves the focus there without changing the view.
    expect(await page.evaluate<string>("document.activeElement.id")).toBe("main")
    await page.keyboard.press("Tab")
    expect(await page.evaluate<boolean>("document.getElementById('main').contains(document.activeElement)")).toBe(true)
    await page.getByRole("link", { name: "Skip to content" }).focus()
    await page.keyboard.press("Enter")
    expect(await page.evaluate<Array<string>>("[document.activeElement.id, location.hash]")).toEqual(["main", "#/me"])
    // Browser-side expressions as text: the test's own program has no DOM types.
    const colors = await page.evaluate<Array<string>>(
      "[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]"
    )
    expect(colors).toEqual(["rgb(17, 19, 24)", "rgb(232, 234, 238)"])
    await screenshots(page, "user-account-dark")
    await dark.close()
  })
})
