/**
 * A request body nested deeper than 64 levels is refused with 400 before any work: no stack overflow, no 500,
 * no defect report, nothing held or charged. A tool schema of ordinary depth still goes through.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { authHeaders, startGateway, type TestGateway } from "../support/gateway.ts"
import { json } from "../support/json.ts"
import { ledgerRows } from "../support/ledger.ts"

let gateway: TestGateway
beforeAll(async () => {
  gateway = await startGateway()
})
afterAll(() => gateway.close())

/** A JSON Schema whose `properties` nest `levels` objects deep, written as text (JSON.stringify would overflow). */
const deepParameters = (levels: number) =>
  '{"type":"object","properties":{"a":'.repeat(levels) + '{"type":"string"}' + "}}".repeat(levels)

const chatWithParameters = async (
  user: string,
  parameters: string,
  contentType: string | null = "application/json"
) => {
  const { "content-type": _, ...headers } = await authHeaders(user)
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    // Without a Content-Type the API's decoder assumes JSON, so the depth check must too. (Bytes, not a string:
    // fetch labels a string body text/plain.)
    headers: contentType === null ? headers : { ...headers, "content-type": contentType },
    body: new TextEncoder().encode(
      '{"model":"gpt-4","max_tokens":5,"messages":[{"role":"user","content":"hi"}],' +
        `"tools":[{"type":"function","function":{"name":"deep","parameters":${parameters}}}]}`
    )
  })
}

describe("request body depth", () => {
  it("refuses tools[].function.parameters nested 200,000 levels with a 400 in our error format", async () => {
    const response = await chatWithParameters("deep-user", deepParameters(100_000))
    expect(response.status).toBe(400)
    const body = await json(response)
    expect(body).toMatchObject({ code: 400, error_type: "validation_error" })
    expect(body.detail).toContain("deeper than 64 levels")
    expect(response.headers.get("x-request-id")).toMatch(/^req_/)
  })

  it.each([null, "Application/JSON", "application/json; charset=utf-8"])(
    "refuses it whatever the Content-Type says of JSON (%s)",
    async (contentType) => {
      const response = await chatWithParameters("deep-user", deepParameters(100_000), contentType)
      expect(response.status).toBe(400)
      expect((await json(response)).detail).toContain("deeper than 64 levels")
    }
  )

  it("refuses 65 levels and accepts a tool schema of ordinary depth", async () => {
    // Each level of `properties` is two of JSON (the schema and its properties): 40 make 80+, 10 make 25.
    const refused = await chatWithParameters("deep-user", deepParameters(40))
    expect(refused.status).toBe(400)
    const accepted = await chatWithParameters("shallow-user", deepParameters(10))
    expect(accepted.status).toBe(200)
    await accepted.text()
  })

  it("holds and charges nothing for a refused body", async () => {
    if (gateway.databaseUrl === undefined) return
    expect(await ledgerRows(gateway.databaseUrl, ["deep-user"])).toEqual({ charges: 0, holds: 0 })
    expect((await ledgerRows(gateway.databaseUrl, ["shallow-user"])).charges).toBe(1)
  })
})
