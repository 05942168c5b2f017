/**
 * The maximum token age (JWT_ACCESS_TOKEN_EXPIRE_MINUTES, 30 by default) cannot be skipped through HTTP: a token
 * without `iat` and a 10-year `exp`, or with `iat` five years ahead, gets a 401 that says why.
 */
import { SignJWT } from "jose"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { secret, startGateway, type TestGateway } from "../support/gateway.ts"
import { json } from "../support/json.ts"

let gateway: TestGateway
beforeAll(async () => {
  gateway = await startGateway()
})
afterAll(() => gateway.close())

const nowSeconds = () => Math.floor(Date.now() / 1000)
const year = 365 * 86_400

const models = (token: string) => fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } })

describe("token age through HTTP", () => {
  it("refuses a token without iat, even with a 10-year exp", async () => {
    const token = await new SignJWT({ role: "admin" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("ageless")
      .setExpirationTime(nowSeconds() + 10 * year)
      .sign(secret)
    const response = await models(token)
    expect(response.status).toBe(401)
    const body = await json(response)
    expect(body).toMatchObject({ code: 401, error_type: "authentication_error" })
    expect(body.detail).toContain("claim iat is missing")
  })

  it("refuses an iat five years in the future", async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("time-traveller")
      .setIssuedAt(nowSeconds() + 5 * year)
      .setExpirationTime(nowSeconds() + 6 * year)
      .sign(secret)
    const response = await models(token)
    expect(response.status).toBe(401)
    expect((await json(response)).detail).toContain("claim iat is in the future")
  })

  it("accepts a fresh token", async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("fresh")
      .setIssuedAt()
      .setExpirationTime("10m")
      .sign(secret)
    expect((await models(token)).status).toBe(200)
  })
})
