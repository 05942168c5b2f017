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

const chatWithParameters = async (user: string, parameters: string) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: await authHeaders(user),
    body:
      '{"model":"gpt-4","max_tokens":5,"messages":[{"role":"user","content":"hi"}],' +
      `"tools":[{"type":"function","function":{"name":"deep","parameters":${parameters}}}]}`
  })

describe("request body depth", () => {
  it("refuses tools[].function.parameters nested 200,000 levels with a 400 in our error format", async () => {
    const response = await chatWithParameters("deep-user", deepParameters(100_000))
    expect(response.status).toBe(400)
    const body = await json(response)
    expect(body).toMatchObject({ code: 400, error_type: "validation_error" })
    expect(body.detail).toContain("deeper than 64 levels")
    expect(response.headers.get("x-request-id")).toMatch(/^req_/)
  })

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
