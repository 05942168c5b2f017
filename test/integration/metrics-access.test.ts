/**
 * /metrics names every user's balance: it is served with a bearer METRICS_TOKEN, or on a listener of its own
 * (METRICS_PORT) and never on the API's port, or (development, neither set) to loopback clients only.
 */
import { describe, expect, it } from "vitest"
import { ConfigInvalid } from "../../src/Config.ts"
import { configOf } from "../support/config.ts"
import { refusal } from "../../src/http/MetricsAccess.ts"
import { authHeaders, startGateway } from "../support/gateway.ts"
import { json } from "../support/json.ts"
import { freePort } from "../support/ports.ts"

const metricsToken = "scrape-token-0123456789abcdef"

/** A user who spent something, so that `user_balance` names someone. */
const spend = async (url: string) => {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: await authHeaders("metrics-user"),
    body: JSON.stringify({ model: "gpt-4", messages: [{ role: "user", content: "hi" }], max_tokens: 5 })
  })
  expect(response.status).toBe(200)
  await response.text()
}

const expectWireError = async (response: Response, status: number, errorType: string) => {
  expect(response.status).toBe(status)
  const body = await json(response)
  expect(body).toMatchObject({ code: status, error_type: errorType, error: { type: errorType } })
  expect(JSON.stringify(body)).not.toContain("user_balance")
}

describe("/metrics access", () => {
  it("with METRICS_TOKEN answers only a scrape that sends it as a bearer token", async () => {
    const gateway = await startGateway({ METRICS_TOKEN: metricsToken })
    try {
      await spend(gateway.url)
      await expectWireError(await fetch(`${gateway.url}/metrics`), 401, "authentication_error")
      await expectWireError(
        await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}x` } }),
        401,
        "authentication_error"
      )
      // A user's JWT is not the metrics token.
      await expectWireError(
        await fetch(`${gateway.url}/metrics`, { headers: await authHeaders("metrics-user") }),
        401,
        "authentication_error"
      )
      const allowed = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })
      expect(allowed.status).toBe(200)
      expect(await allowed.text()).toContain('user_balance{user_id="metrics-user"}')
    } finally {
      await gateway.close()
    }
  })

  it("with METRICS_PORT serves it on that listener only, with the token when one is set", async () => {
    const metricsPort = await freePort()
    const gateway = await startGateway({
      METRICS_PORT: String(metricsPort),
      METRICS_HOST: "127.0.0.1",
      METRICS_TOKEN: metricsToken
    })
    try {
      await spend(gateway.url)
      const onApiPort = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })
      await expectWireError(onApiPort, 404, "not_found_error")
      const metricsUrl = `http://127.0.0.1:${metricsPort}`
      await expectWireError(await fetch(`${metricsUrl}/metrics`), 401, "authentication_error")
      await expectWireError(await fetch(`${metricsUrl}/v1/models`), 404, "not_found_error")
      const scraped = await fetch(`${metricsUrl}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })
      expect(scraped.status).toBe(200)
      expect(scraped.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/)
      expect(await scraped.text()).toContain('user_balance{user_id="metrics-user"}')
    } finally {
      await gateway.close()
    }
  })

  it("in development without either answers loopback clients only", async () => {
    const gateway = await startGateway()
    try {
      expect((await fetch(`${gateway.url}/metrics`)).status).toBe(200)
    } finally {
      await gateway.close()
    }
    const open = { token: undefined, port: undefined, host: "0.0.0.0" }
    expect(refusal(open, "api", undefined, "127.0.0.1")).toBeUndefined()
    expect(refusal(open, "api", undefined, "::ffff:127.0.0.1")).toBeUndefined()
    expect(refusal(open, "api", undefined, "::1")).toBeUndefined()
    expect(refusal(open, "api", undefined, "10.0.0.7")?._tag).toBe("PermissionDenied")
    expect(refusal(open, "api", undefined, "::ffff:192.168.1.2")?._tag).toBe("PermissionDenied")
    expect(refusal(open, "api", undefined, undefined)?._tag).toBe("PermissionDenied")
  })

  it("production refuses to start with /metrics unprotected, and accepts a token or a port", () => {
    const production = { ENVIRONMENT: "production", JWT_SECRET: "s".repeat(32) }
    const refused = configOf(production, "test")
    expect(refused).toBeInstanceOf(ConfigInvalid)
    expect((refused as ConfigInvalid).message).toContain("METRICS_TOKEN or METRICS_PORT")
    expect(configOf({ ...production, METRICS_TOKEN: metricsToken }, "test")).not.toBeInstanceOf(ConfigInvalid)
    // A listener without a token must name the address it binds, and a fixed port.
    const listener = { ...production, METRICS_PORT: "9100", METRICS_HOST: "10.0.0.5" }
    expect(configOf(listener, "test")).not.toBeInstanceOf(ConfigInvalid)
    for (const unsafe of [{ METRICS_PORT: "9100" }, { METRICS_PORT: "0", METRICS_HOST: "10.0.0.5" }]) {
      const refusal = configOf({ ...production, ...unsafe }, "test") as ConfigInvalid
      expect(refusal.message).toContain("METRICS_HOST: a production metrics listener without METRICS_TOKEN")
    }
    const random = { ...production, METRICS_PORT: "0", METRICS_TOKEN: metricsToken }
    expect(configOf(random, "test")).not.toBeInstanceOf(ConfigInvalid)
    const weak = configOf({ ...production, METRICS_TOKEN: "short" }, "test") as ConfigInvalid
    expect(weak.message).toContain("METRICS_TOKEN: expected at least 24")
    const samePort = configOf({ ...production, PORT: "9100", METRICS_PORT: "9100" }, "test") as ConfigInvalid
    expect(samePort.message).toContain("METRICS_PORT: must differ from PORT")
  })
})
