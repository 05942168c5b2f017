import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SignJWT } from "jose"
import { authHeaders, secret, startGateway, token, type TestGateway } from "../support/gateway.ts"
import { json } from "../support/json.ts"

let gateway: TestGateway
beforeAll(async () => {
  gateway = await startGateway()
})
afterAll(() => gateway.close())

const expectWireError = async (response: Response, status: number, errorType: string) => {
  expect(response.status).toBe(status)
  expect(response.headers.get("content-type")).toMatch(/^application\/json/)
  const body = await json(response)
  expect(body).toMatchObject({
    code: status,
    error_type: errorType,
    error: { type: errorType, message: body.detail }
  })
  expect(typeof body.detail).toBe("string")
  expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/)
  return body as { detail: string; error: { param: string | null } }
}

const chat = async (body: unknown, headers?: Record<string, string>) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: headers ?? (await authHeaders()),
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

const hello = { model: "gpt-4", messages: [{ role: "user", content: "Привет!" }] }

describe("authentication on every protected route", () => {
  const protectedRoutes: ReadonlyArray<readonly [string, string]> = [
    ["POST", "/v1/chat/completions"],
    ["POST", "/v1/chat/completions/stream"],
    ["GET", "/v1/models"],
    ["GET", "/v1/models/gpt-4"],
    ["GET", "/billing/balance"],
    ["GET", "/billing/transactions"],
    ["POST", "/billing/credits"]
  ]
  it.each(protectedRoutes)("%s %s without a token is 401", async (method, path) => {
    const response = await fetch(gateway.url + path, {
      method,
      headers: { "content-type": "application/json" },
      ...(method === "POST" ? { body: JSON.stringify(hello) } : {})
    })
    const body = await expectWireError(response, 401, "authentication_error")
    expect(body.detail).toBe("Invalid or missing authentication token")
  })

  it.each(protectedRoutes)("%s %s with a garbage token is 401", async (method, path) => {
    const response = await fetch(gateway.url + path, {
      method,
      headers: { authorization: "Bearer not.a.jwt", "content-type": "application/json" },
      ...(method === "POST" ? { body: JSON.stringify(hello) } : {})
    })
    await expectWireError(response, 401, "authentication_error")
  })

  it("every token attack is 401 in the error format", async () => {
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url")
    const claims = { sub: "mallory", exp: Math.floor(Date.now() / 1000) + 600 }
    const attacks = [
      `${encode({ alg: "none" })}.${encode(claims)}.`,
      await new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode("x".repeat(40))),
      await token("mallory", { expiresIn: "-5m" }),
      await new SignJWT({ exp: claims.exp }).setProtectedHeader({ alg: "HS256" }).sign(secret),
      `${await token()}${"A".repeat(9000)}`,
      "a.b.c"
    ]
    for (const attack of attacks) {
      const response = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${attack}` } })
      await expectWireError(response, 401, "authentication_error")
    }
  })

  it.each(["/health", "/ready", "/live", "/openapi.json", "/docs", "/dashboard"])("%s needs no token", async (path) => {
    const response = await fetch(gateway.url + path)
    expect(response.status).toBe(200)
  })
})

describe("error format", () => {
  it("an unknown route is 404", async () => {
    await expectWireError(await fetch(`${gateway.url}/v2/nothing`), 404, "not_found_error")
  })

  it("a known route with the wrong method is 405 with Allow", async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: "GET" })
    await expectWireError(response, 405, "method_not_allowed")
    expect(response.headers.get("allow")).toBe("POST")
  })

  it("malformed JSON is 400", async () => {
    const body = await expectWireError(await chat('{"model": "gpt-4",'), 400, "validation_error")
    expect(body.detail).toMatch(/JSON/)
  })

  it("a body that is not JSON is 415", async () => {
    const headers = { ...(await authHeaders()), "content-type": "text/plain" }
    await expectWireError(await chat("hello", headers), 415, "unsupported_media_type")
  })

  it("a 5 MB body is 413 and the server keeps serving", async () => {
    const big = JSON.stringify({ ...hello, messages: [{ role: "user", content: "x".repeat(5 * 1024 * 1024) }] })
    await expectWireError(await chat(big), 413, "request_too_large")
    expect((await chat(hello)).status).toBe(200)
  })

  it("deeply nested JSON is 400, not a crash", async () => {
    const deep = "[".repeat(200_000) + "]".repeat(200_000)
    await expectWireError(await chat(`{"model": "gpt-4", "messages": ${deep}}`), 400, "validation_error")
    // Deeper than 64 levels anywhere, an unknown field included, is refused before anything reads it.
    const nested = (levels: number) =>
      `{"model": "gpt-4", "messages": [{"role": "user", "content": "hi", "extra": ${'{"a":'.repeat(levels)}1${"}".repeat(levels)}}]}`
    await expectWireError(await chat(nested(5000)), 400, "validation_error")
    expect((await chat(nested(50))).status).toBe(200)
  })

  it.each([
    [{ model: "gpt-4", messages: [] }, "messages"],
    [{ model: "gpt-4" }, "messages"],
    [{ messages: [{ role: "user", content: "hi" }] }, "model"],
    [{ model: 42, messages: [{ role: "user", content: "hi" }] }, "model"],
    [{ model: "gpt-4", messages: [{ role: "robot", content: "hi" }] }, "messages[0].role"],
    [{ model: "gpt-4", messages: [{ role: "user" }] }, "messages[0].content"],
    [{ model: "gpt-4", messages: [{ role: "tool", content: "42" }] }, "messages[0].tool_call_id"],
    [{ ...hello, temperature: 2.5 }, "temperature"],
    [{ ...hello, top_p: -0.1 }, "top_p"],
    [{ ...hello, presence_penalty: 3 }, "presence_penalty"],
    [{ ...hello, max_tokens: 0 }, "max_tokens"],
    [{ ...hello, max_completion_tokens: 1.5 }, "max_completion_tokens"],
    [{ ...hello, stream: "yes" }, "stream"],
    [{ ...hello, stop: ["a", "b", "c", "d", "e"] }, "stop"]
  ])("%j is 400 naming %s", async (request, field) => {
    const body = await expectWireError(await chat(request), 400, "validation_error")
    expect(body.error.param).toBe(field)
    expect(body.detail).toContain(field)
  })

  it("unknown extra fields are ignored, as OpenAI clients send new ones", async () => {
    const response = await chat({ ...hello, logprobs: false, store: true, some_future_field: { x: 1 } })
    expect(response.status).toBe(200)
  })

  it("an unknown model is 404", async () => {
    const body = await expectWireError(await chat({ ...hello, model: "gpt-9" }), 404, "not_found_error")
    expect(body.error.param).toBe("model")
  })

  it("every response carries the gateway's own x-request-id; a sane client id is echoed as x-client-request-id", async () => {
    const first = await fetch(`${gateway.url}/health`, { headers: { "x-request-id": "abc-123" } })
    const second = await fetch(`${gateway.url}/health`, { headers: { "x-request-id": "abc-123" } })
    expect(first.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/)
    expect(second.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/)
    expect(first.headers.get("x-request-id")).not.toBe(second.headers.get("x-request-id"))
    expect(first.headers.get("x-client-request-id")).toBe("abc-123")
    const named = await fetch(`${gateway.url}/live`, { headers: { "x-client-request-id": "job-7:step.2" } })
    expect(named.headers.get("x-client-request-id")).toBe("job-7:step.2")
    for (const bad of ["bad id\u00e9", "x".repeat(129), "a/b", "<script>"]) {
      const ignored = await fetch(`${gateway.url}/nothing`, { headers: { "x-request-id": bad } })
      expect(ignored.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/)
      expect(ignored.headers.get("x-client-request-id")).toBeNull()
    }
  })
})

describe("models", () => {
  it("lists the spec's models as a JSON array", async () => {
    const response = await fetch(`${gateway.url}/v1/models`, { headers: await authHeaders() })
    expect(response.status).toBe(200)
    const models = await json(response)
    expect(models.map((model: { id: string }) => model.id)).toEqual(
      expect.arrayContaining(["gpt-3.5-turbo", "gpt-4", "claude-3", "gemini-1.5-pro"])
    )
    expect(models.find((model: { id: string }) => model.id === "claude-3")).toMatchObject({
      object: "model",
      owned_by: "anthropic",
      root: "claude-3",
      parent: null
    })
    expect(models[0].permission[0]).toMatchObject({ object: "model_permission", allow_sampling: true })
  })

  it("returns one model, or 404", async () => {
    const found = await fetch(`${gateway.url}/v1/models/gemini-1.5-pro`, { headers: await authHeaders() })
    expect((await json(found)).owned_by).toBe("google")
    const missing = await fetch(`${gateway.url}/v1/models/nope`, { headers: await authHeaders() })
    await expectWireError(missing, 404, "not_found_error")
  })
})

describe("chat through the simulator", () => {
  it("answers a plain completion", async () => {
    const response = await chat({ ...hello, max_tokens: 50 })
    expect(response.status).toBe(200)
    expect(response.headers.get("x-gateway-provider")).toBe("simulator")
    expect(response.headers.get("x-gateway-max-tokens")).toBe("50")
    const body = await json(response)
    expect(body).toMatchObject({
      object: "chat.completion",
      model: "gpt-4",
      choices: [{ index: 0, finish_reason: "stop" }]
    })
    expect(body.choices[0].message.content).toMatch(/^Simulated reply/)
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens)
  })

  const readSse = async (response: Response) => {
    const text = await response.text()
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true)
    const events = text.split("\n\n").filter((event) => event !== "")
    for (const event of events) expect(event.startsWith("data: ")).toBe(true)
    return events.slice(0, -1).map((event) => JSON.parse(event.slice("data: ".length)))
  }

  it.each(["/v1/chat/completions", "/v1/chat/completions/stream"])("streams SSE from %s", async (path) => {
    const response = await fetch(gateway.url + path, {
      method: "POST",
      headers: await authHeaders(),
      body: JSON.stringify({ ...hello, stream: true })
    })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("text/event-stream")
    expect(response.headers.get("cache-control")).toBe("no-cache")
    expect(response.headers.get("x-accel-buffering")).toBe("no")
    const chunks = await readSse(response)
    expect(chunks[0].choices[0].delta.role).toBe("assistant")
    expect(chunks.at(-1).choices[0].finish_reason).toBe("stop")
    expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk" && chunk.model === "gpt-4")).toBe(true)
    expect(chunks.some((chunk) => chunk.usage)).toBe(false)
  })

  it("sends the usage chunk only when asked", async () => {
    const response = await chat({ ...hello, stream: true, stream_options: { include_usage: true } })
    const chunks = await readSse(response)
    const last = chunks.at(-1)
    expect(last.choices).toEqual([])
    expect(last.usage.completion_tokens).toBe(chunks.filter((chunk) => chunk.choices[0]?.delta.content).length)
  })

  it("the stream endpoint streams even when stream is false", async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions/stream`, {
      method: "POST",
      headers: await authHeaders(),
      body: JSON.stringify({ ...hello, stream: false })
    })
    expect(response.headers.get("content-type")).toBe("text/event-stream")
    expect((await readSse(response)).length).toBeGreaterThan(2)
  })
})

describe("OpenAPI", () => {
  it("documents every endpoint of the spec", async () => {
    const document = await json(await fetch(`${gateway.url}/openapi.json`))
    expect(Object.keys(document.paths).sort()).toEqual([
      "/admin/traffic",
      "/billing/accounts",
      "/billing/balance",
      "/billing/credits",
      "/billing/transactions",
      "/billing/usage",
      "/health",
      "/health/circuit-breakers",
      "/health/detailed",
      "/health/history",
      "/health/monitoring",
      "/health/system",
      "/live",
      "/metrics",
      "/ready",
      "/v1/chat/completions",
      "/v1/chat/completions/stream",
      "/v1/embeddings",
      "/v1/messages",
      "/v1/messages/count_tokens",
      "/v1/models",
      "/v1/models/{id}"
    ])
    for (const path of ["/v1/chat/completions", "/v1/embeddings"]) {
      expect(Object.keys(document.paths[path].post.responses)).toEqual(
        expect.arrayContaining(["200", "400", "401", "402", "404", "429", "503"])
      )
    }
    // Anthropic's Messages API: its statuses, its error bodies, its auth headers and its version header.
    const messages = document.paths["/v1/messages"].post
    expect(Object.keys(messages.responses)).toEqual(
      expect.arrayContaining(["200", "400", "401", "402", "404", "429", "500", "502", "504", "529"])
    )
    expect(Object.keys(messages.responses)).not.toContain("503")
    expect(messages.responses["529"]).toMatchObject({
      description: "529 overloaded_error",
      content: { "application/json": { schema: { $ref: "#/components/schemas/AnthropicServiceUnavailable" } } }
    })
    expect(messages.responses["200"].content).toHaveProperty("text/event-stream")
    expect(messages.security).toEqual([{ apiKey: [] }, { bearer: [] }])
    expect(document.components.securitySchemes.apiKey).toEqual({ type: "apiKey", name: "x-api-key", in: "header" })
    expect(messages.parameters).toEqual([
      expect.objectContaining({ name: "anthropic-version", in: "header", required: true })
    ])
    expect(Object.keys(document.paths["/v1/messages/count_tokens"].post.responses)).toEqual(
      expect.arrayContaining(["200", "400", "401", "404", "429"])
    )
  })

  it("serves interactive docs", async () => {
    const response = await fetch(`${gateway.url}/docs`)
    expect(response.headers.get("content-type")).toMatch(/text\/html/)
  })
})
