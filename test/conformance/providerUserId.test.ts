/**
 * What providers see as the end user comes from the authenticated user, never from the request body: a tenant who
 * writes another's id in `user` or `safety_identifier` is still reported as themselves. And the gateway's own
 * request id, not the client's, names the request upstream and in the ledger.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { authHeaders } from "../support/gateway.ts"
import { runSql } from "../support/sql.ts"
import { type Conformance, resetAll, startConformance } from "./support.ts"

let setup: Conformance
let subjectSetup: Conformance
beforeAll(async () => {
  setup = await startConformance({ LOG_LEVEL: "none" })
  subjectSetup = await startConformance({ LOG_LEVEL: "none", PROVIDER_USER_ID: "subject" })
})
afterAll(async () => {
  await setup.close()
  await subjectSetup.close()
})
beforeEach(() => {
  resetAll(setup.upstreams)
  resetAll(subjectSetup.upstreams)
})

const impersonating = { user: "victim", safety_identifier: "victim", messages: [{ role: "user", content: "hi" }] }

const chat = async (conformance: Conformance, sub: string, model: string, extra: Record<string, string> = {}) => {
  const response = await fetch(`${conformance.gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { ...(await authHeaders(sub)), ...extra },
    body: JSON.stringify({ model, ...impersonating })
  })
  expect(response.status).toBe(200)
  await response.text()
  return response
}

describe("the provider-facing end user", () => {
  it("is a stable keyed hash of the authenticated sub, whatever the body says (OpenAI)", async () => {
    await chat(setup, "tenant-a", "gpt-4")
    await chat(setup, "tenant-a", "gpt-4")
    await chat(setup, "tenant-b", "gpt-4")
    const [first, again, other] = setup.upstreams.openai.received.map((request) => request.body)
    expect(first.user).toMatch(/^user_[A-Za-z0-9_-]{32}$/)
    expect(first.safety_identifier).toBe(first.user)
    expect(again.user).toBe(first.user)
    expect(other.user).not.toBe(first.user)
    expect(JSON.stringify([first, other])).not.toMatch(/victim|tenant-/)
  })

  it("is the same id in Anthropic's metadata.user_id", async () => {
    await chat(setup, "tenant-a", "gpt-4")
    await chat(setup, "tenant-a", "claude-3")
    const openai = setup.upstreams.openai.received[0]!.body
    const anthropic = setup.upstreams.anthropic.received[0]!.body
    expect(anthropic.metadata).toEqual({ user_id: openai.user })
  })

  it("is the sub itself with PROVIDER_USER_ID=subject", async () => {
    await chat(subjectSetup, "tenant-a", "claude-3")
    expect(subjectSetup.upstreams.anthropic.received[0]!.body.metadata).toEqual({ user_id: "tenant-a" })
  })

  it("the ledger names each request by the gateway's own unique id, not the client's x-request-id", async () => {
    const responses = [
      await chat(setup, "tenant-ledger", "gpt-4", { "x-request-id": "client-chosen" }),
      await chat(setup, "tenant-ledger", "gpt-4", { "x-request-id": "client-chosen" })
    ]
    const ids = responses.map((response) => response.headers.get("x-request-id")!)
    for (const response of responses) expect(response.headers.get("x-client-request-id")).toBe("client-chosen")
    expect(ids[0]).toMatch(/^req_[0-9a-f]{32}$/)
    expect(ids[1]).not.toBe(ids[0])
    if (setup.gateway.databaseUrl === undefined) return
    const charged = await runSql(
      setup.gateway.databaseUrl,
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        return yield* sql<{ request_id: string }>`
          SELECT request_id FROM billing_transactions WHERE user_id = 'tenant-ledger' AND kind = 'charge' ORDER BY seq`
      })
    )
    expect(charged.map((row) => row.request_id)).toEqual(ids)
  })
})
