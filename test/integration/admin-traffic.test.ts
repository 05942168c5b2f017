/** GET /admin/traffic: the gateway's own last hour, for admins only. */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startGateway, type TestGateway, token } from "../support/gateway.ts"
import { json } from "../support/json.ts"

let gateway: TestGateway
beforeAll(async () => {
  gateway = await startGateway()
})
afterAll(() => gateway.close())

const get = async (path: string, bearer?: string) =>
  fetch(`${gateway.url}${path}`, bearer === undefined ? {} : { headers: { authorization: `Bearer ${bearer}` } })

const chat = async (user: string, model: string) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${await token(user)}`, "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 5 })
  })

describe("GET /admin/traffic", () => {
  it("is refused without a token and to users who are not admins", async () => {
    expect((await get("/admin/traffic")).status).toBe(401)
    const refused = await get("/admin/traffic", await token("someone"))
    expect(refused.status).toBe(403)
    expect(await json(refused)).toMatchObject({ error_type: "permission_error" })
  })

  it("counts the API's requests by minute and by model; probes, health and the dashboard are not counted", async () => {
    const admin = await token("operator", { admin: true })
    const before = await json(await get("/admin/traffic", admin))
    const countOf = (body: { minutes: Array<{ requests: number; errors: number; chat_requests: number }> }) =>
      body.minutes.reduce(
        (sum, minute) => ({
          requests: sum.requests + minute.requests,
          errors: sum.errors + minute.errors,
          chat: sum.chat + minute.chat_requests
        }),
        { requests: 0, errors: 0, chat: 0 }
      )

    expect((await chat("traffic-user", "claude-3")).status).toBe(200)
    expect((await chat("traffic-user", "claude-3")).status).toBe(200)
    expect((await chat("traffic-user", "no-such-model")).status).toBe(404)
    expect((await get("/billing/balance", await token("traffic-user"))).status).toBe(200)
    for (const path of ["/health", "/live", "/ready", "/dashboard", "/health/detailed"])
      expect((await get(path)).status).toBeLessThan(500)

    const after = await json(await get("/admin/traffic", admin))
    expect(after.minutes).toHaveLength(60)
    // The two chats, the refused one and the balance; not the admin's own read of /admin/traffic.
    expect(countOf(after)).toEqual({
      requests: countOf(before).requests + 4,
      errors: 0,
      chat: countOf(before).chat + 2
    })
    const claude = after.models.find((model: { model: string }) => model.model === "claude-3")
    expect(claude).toMatchObject({ requests: 2, errors: 0, recent_attempts: 2, recent_failures: 0 })
    expect(claude.upstream_ms_avg).toBeGreaterThanOrEqual(0)
    // The requests may straddle a minute's end: some minute holds their overhead.
    expect(after.minutes.some((minute: { overhead_ms_avg: number | null }) => (minute.overhead_ms_avg ?? 0) > 0)).toBe(
      true
    )
  })
})
