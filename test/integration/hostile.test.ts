/**
 * Requests from an unfriendly client: malformed and hostile bodies, headers, tokens, query strings, paths, unicode,
 * sizes and depths. Each is answered with a 4xx in the gateway's error format (no stack trace, a request id), and
 * none of them leaves anything in the ledger: no account, hold, charge or credit.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { SignJWT, type JWTPayload } from "jose"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { secret, startGateway, type TestGateway } from "../support/gateway.ts"
import { runSql } from "../support/sql.ts"

const metricsToken = "hostile-suite-metrics-token-0123456789"
const maxBodyBytes = 64 * 1024

let gateway: TestGateway
beforeAll(async () => {
  gateway = await startGateway({
    MAX_REQUEST_BODY_BYTES: String(maxBodyBytes),
    METRICS_TOKEN: metricsToken,
    RATE_LIMIT_PER_USER_PER_MINUTE: "100000",
    RATE_LIMIT_GLOBAL_PER_HOUR: "100000"
  })
})
afterAll(() => gateway.close())

const nowSeconds = () => Math.floor(Date.now() / 1000)

/** A token with the given claims (a fresh, valid one unless they say otherwise), signed with the test secret. */
const sign = (claims: JWTPayload, options: { key?: Uint8Array; alg?: string; kid?: string } = {}) =>
  new SignJWT({ sub: "hostile", iat: nowSeconds(), exp: nowSeconds() + 600, ...claims })
    .setProtectedHeader({ alg: options.alg ?? "HS256", ...(options.kid === undefined ? {} : { kid: options.kid }) })
    .sign(options.key ?? secret)

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url")

/** Every case's user is its own, so that the ledger check below covers them all. */
let caseNumber = 0
const validToken = async () => sign({ sub: `hostile-${caseNumber++}` })

interface Attempt {
  readonly method?: string
  readonly path: string
  readonly headers?: Record<string, string>
  /** Sent as is: a string, or bytes. */
  readonly body?: string | Uint8Array
  /** Without the default valid bearer token (the case supplies its own, or none). */
  readonly anonymous?: boolean
}

type Case = readonly [name: string, status: number, attempt: () => Promise<Attempt> | Attempt]

const chatBody = (fields: Record<string, unknown>) =>
  JSON.stringify({ model: "gpt-4", messages: [{ role: "user", content: "hi" }], ...fields })

const chatCase = (name: string, status: number, body: string | Uint8Array, headers?: Record<string, string>): Case => [
  name,
  status,
  () => ({ method: "POST", path: "/v1/chat/completions", body, ...(headers === undefined ? {} : { headers }) })
]

const nested = (levels: number, inner = "1") => "[".repeat(levels) + inner + "]".repeat(levels)

const bodies: ReadonlyArray<Case> = [
  chatCase("an empty body", 400, ""),
  chatCase("null", 400, "null"),
  chatCase("an array", 400, "[]"),
  chatCase("a number", 400, "42"),
  chatCase("a string", 400, '"hello"'),
  chatCase("an unterminated object", 400, "{"),
  chatCase("a truncated request", 400, '{"model": "gpt-4", "messages": [{"role": "us'),
  chatCase("trailing garbage", 400, `${chatBody({})} trailing`),
  chatCase("single quotes", 400, "{'model': 'gpt-4'}"),
  chatCase("a comment", 400, `/* hi */ ${chatBody({})}`),
  chatCase("NaN as a number", 400, '{"model": "gpt-4", "temperature": NaN, "messages": []}'),
  chatCase("invalid UTF-8", 400, new Uint8Array([0x7b, 0x22, 0x6d, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])),
  chatCase("no messages", 400, JSON.stringify({ model: "gpt-4" })),
  chatCase("messages empty", 400, chatBody({ messages: [] })),
  chatCase("messages an object", 400, chatBody({ messages: { role: "user", content: "hi" } })),
  chatCase("a message without role", 400, chatBody({ messages: [{ content: "hi" }] })),
  chatCase("a made-up role", 400, chatBody({ messages: [{ role: "root", content: "hi" }] })),
  chatCase("content a number", 400, chatBody({ messages: [{ role: "user", content: 42 }] })),
  chatCase("content an object", 400, chatBody({ messages: [{ role: "user", content: { text: "hi" } }] })),
  chatCase("an unknown content part", 400, chatBody({ messages: [{ role: "user", content: [{ type: "video" }] }] })),
  chatCase("a tool message without tool_call_id", 400, chatBody({ messages: [{ role: "tool", content: "42" }] })),
  chatCase("no model", 400, JSON.stringify({ messages: [{ role: "user", content: "hi" }] })),
  chatCase("model null", 400, chatBody({ model: null })),
  chatCase("model a number", 400, chatBody({ model: 4 })),
  chatCase("model an array", 400, chatBody({ model: ["gpt-4"] })),
  chatCase("an unknown model", 404, chatBody({ model: "gpt-9" })),
  chatCase("a path as model", 404, chatBody({ model: "../../etc/passwd" })),
  chatCase("a 10,000-character model", 404, chatBody({ model: "m".repeat(10_000) })),
  chatCase("a model with NUL", 404, chatBody({ model: "gpt-4\u0000" })),
  chatCase("a model with a right-to-left override", 404, chatBody({ model: "gpt\u202e4-" })),
  chatCase("a model in another script", 404, chatBody({ model: "гпт-4" })),
  chatCase("temperature negative", 400, chatBody({ temperature: -1 })),
  chatCase("temperature too high", 400, chatBody({ temperature: 2.5 })),
  chatCase("temperature a string", 400, chatBody({ temperature: "hot" })),
  chatCase("temperature beyond a double", 400, '{"model":"gpt-4","temperature":1e999,"messages":[]}'),
  chatCase("top_p above 1", 400, chatBody({ top_p: 1.5 })),
  chatCase("max_tokens negative", 400, chatBody({ max_tokens: -1 })),
  chatCase("max_tokens zero", 400, chatBody({ max_tokens: 0 })),
  chatCase("max_tokens fractional", 400, chatBody({ max_tokens: 1.5 })),
  chatCase("max_tokens a string", 400, chatBody({ max_tokens: "100" })),
  chatCase("max_tokens beyond the model", 400, chatBody({ max_tokens: 1_000_000_000 })),
  chatCase("n zero", 400, chatBody({ n: 0 })),
  chatCase("n negative", 400, chatBody({ n: -3 })),
  chatCase("stream a string", 400, chatBody({ stream: "yes" })),
  chatCase("tools an object", 400, chatBody({ tools: { type: "function" } })),
  chatCase("a tool without function", 400, chatBody({ tools: [{ type: "function" }] })),
  chatCase("a tool function without name", 400, chatBody({ tools: [{ type: "function", function: {} }] })),
  chatCase(
    "tool parameters an array",
    400,
    chatBody({ tools: [{ type: "function", function: { name: "f", parameters: [] } }] })
  ),
  chatCase(
    "tool parameters nested 10,000 levels",
    400,
    `{"model":"gpt-4","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${'{"a":'.repeat(5_000)}1${"}".repeat(5_000)}}}]}`
  ),
  chatCase("messages nested 65 levels", 400, `{"model":"gpt-4","messages":${nested(65)}}`),
  chatCase("an unknown field nested 1,000 levels", 400, `{"model":"gpt-4","x":${nested(1_000)},"messages":[]}`),
  chatCase("arrays nested 30,000 levels", 400, `{"model":"gpt-4","x":${nested(30_000)}}`),
  chatCase("a body one byte over the limit", 413, `{"model":"gpt-4","x":"${"a".repeat(maxBodyBytes)}"}`),
  chatCase("a body of 1 MiB", 413, `{"model":"gpt-4","x":"${"a".repeat(1024 * 1024)}"}`),
  chatCase(
    "an image URL with javascript:",
    400,
    chatBody({
      messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "javascript:alert(1)" } }] }]
    })
  ),
  chatCase(
    "a file:// image URL",
    400,
    chatBody({
      messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "file:///etc/passwd" } }] }]
    })
  )
]

const contentTypes: ReadonlyArray<Case> = [
  chatCase("text/plain", 415, chatBody({}), { "content-type": "text/plain" }),
  chatCase("form data", 415, "model=gpt-4", { "content-type": "application/x-www-form-urlencoded" }),
  chatCase("multipart", 415, "--x\r\n\r\n--x--", { "content-type": "multipart/form-data; boundary=x" }),
  chatCase("XML", 415, "<model>gpt-4</model>", { "content-type": "application/xml" })
]

const models = (authorization: string | undefined): Attempt => ({
  path: "/v1/models",
  anonymous: true,
  headers: authorization === undefined ? {} : { authorization }
})

const tokens: ReadonlyArray<Case> = [
  ["no Authorization header", 401, () => models(undefined)],
  ["an empty Authorization header", 401, () => models("")],
  ["Bearer without a token", 401, () => models("Bearer")],
  ["Bearer and a space", 401, () => models("Bearer ")],
  ["Basic credentials", 401, () => models(`Basic ${Buffer.from("admin:admin").toString("base64")}`)],
  ["a garbage token", 401, () => models("Bearer abc")],
  ["three empty segments", 401, () => models("Bearer ..")],
  ["segments that are not base64", 401, () => models("Bearer a.b.c")],
  [
    "alg none",
    401,
    () => models(`Bearer ${base64url({ alg: "none", typ: "JWT" })}.${base64url({ sub: "x", exp: nowSeconds() + 60 })}.`)
  ],
  [
    "another secret",
    401,
    async () => models(`Bearer ${await sign({}, { key: new TextEncoder().encode("x".repeat(48)) })}`)
  ],
  ["HS512 where HS256 is allowed", 401, async () => models(`Bearer ${await sign({}, { alg: "HS512" })}`)],
  [
    "an expired token",
    401,
    async () => models(`Bearer ${await sign({ iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 })}`)
  ],
  ["a token not yet valid", 401, async () => models(`Bearer ${await sign({ nbf: nowSeconds() + 3600 })}`)],
  ["no sub", 401, async () => models(`Bearer ${await sign({ sub: undefined })}`)],
  ["an empty sub", 401, async () => models(`Bearer ${await sign({ sub: "" })}`)],
  ["a 1,000-character sub", 401, async () => models(`Bearer ${await sign({ sub: "s".repeat(1000) })}`)],
  ["sub a number", 401, async () => models(`Bearer ${await sign({ sub: 42 as unknown as string })}`)],
  ["no exp", 401, async () => models(`Bearer ${await sign({ exp: undefined })}`)],
  ["exp a string", 401, async () => models(`Bearer ${await sign({ exp: "tomorrow" as unknown as number })}`)],
  [
    "no iat (tokens have a maximum age)",
    401,
    async () => models(`Bearer ${await sign({ iat: undefined, exp: nowSeconds() + 10 * 365 * 86_400 })}`)
  ],
  [
    "iat five years ahead",
    401,
    async () =>
      models(`Bearer ${await sign({ iat: nowSeconds() + 5 * 365 * 86_400, exp: nowSeconds() + 6 * 365 * 86_400 })}`)
  ],
  ["iat older than the maximum age", 401, async () => models(`Bearer ${await sign({ iat: nowSeconds() - 3 * 3600 })}`)],
  [
    "a kid naming a file",
    401,
    async () =>
      models(
        `Bearer ${await sign({}, { kid: "../../../../etc/passwd", key: new TextEncoder().encode("y".repeat(48)) })}`
      )
  ],
  ["a 9 KB token", 401, async () => models(`Bearer ${await sign({ padding: "p".repeat(9000) })}`)],
  ["a token with non-ASCII", 401, () => models("Bearer ÿþý.ÿþý.ÿþý")],
  [
    "a token signed with the former development default",
    401,
    async () =>
      models(
        `Bearer ${await sign({ role: "admin" }, { key: new TextEncoder().encode("development-secret-change-me-0123456789") })}`
      )
  ],
  [
    "a tampered payload",
    401,
    async () => {
      const [header, , signature] = (await sign({ sub: "alice" })).split(".")
      return models(
        `Bearer ${header}.${base64url({ sub: "admin", role: "admin", iat: nowSeconds(), exp: nowSeconds() + 600 })}.${signature}`
      )
    }
  ]
]

const queries: ReadonlyArray<Case> = [
  ["limit negative", 400, () => ({ path: "/billing/transactions?limit=-1" })],
  ["limit zero", 400, () => ({ path: "/billing/transactions?limit=0" })],
  ["limit a word", 400, () => ({ path: "/billing/transactions?limit=all" })],
  ["limit too large", 400, () => ({ path: "/billing/transactions?limit=1000000" })],
  ["limit fractional", 400, () => ({ path: "/billing/transactions?limit=1.5" })],
  ["limit empty", 400, () => ({ path: "/billing/transactions?limit=" })],
  ["limit in exponent form", 400, () => ({ path: "/billing/transactions?limit=1e2" })],
  ["limit given twice", 400, () => ({ path: "/billing/transactions?limit=1&limit=2" })],
  ["offset negative", 400, () => ({ path: "/billing/transactions?offset=-5" })],
  ["offset a word", 400, () => ({ path: "/billing/transactions?offset=last" })],
  ["offset beyond a safe integer", 400, () => ({ path: "/billing/transactions?offset=99999999999999999999" })],
  [
    "limit with SQL",
    400,
    () => ({ path: `/billing/transactions?limit=${encodeURIComponent("1; DROP TABLE billing_accounts")}` })
  ],
  ["limit in Arabic digits", 400, () => ({ path: `/billing/transactions?limit=${encodeURIComponent("٥")}` })]
]

const paths: ReadonlyArray<Case> = [
  ["an unknown path", 404, () => ({ path: "/v2/chat/completions" })],
  ["a traversal", 404, () => ({ path: "/v1/../../etc/passwd" })],
  ["an encoded traversal", 404, () => ({ path: "/v1/models/..%2F..%2Fetc%2Fpasswd" })],
  ["a NUL in a model id", 404, () => ({ path: "/v1/models/gpt-4%00" })],
  ["a script in a model id", 404, () => ({ path: `/v1/models/${encodeURIComponent("<script>alert(1)</script>")}` })],
  ["a 2,000-character model id", 404, () => ({ path: `/v1/models/${"x".repeat(2000)}` })],
  ["unicode in a model id", 404, () => ({ path: `/v1/models/${encodeURIComponent("модель-🦄")}` })],
  ["GET on chat completions", 405, () => ({ path: "/v1/chat/completions" })],
  ["PUT on chat completions", 405, () => ({ method: "PUT", path: "/v1/chat/completions", body: chatBody({}) })],
  ["DELETE on the balance", 405, () => ({ method: "DELETE", path: "/billing/balance" })],
  ["PATCH on credits", 405, () => ({ method: "PATCH", path: "/billing/credits", body: "{}" })],
  ["POST on models", 405, () => ({ method: "POST", path: "/v1/models", body: "{}" })]
]

const credit =
  (body: unknown, admin = true): (() => Promise<Attempt>) =>
  async () => ({
    method: "POST",
    path: "/billing/credits",
    anonymous: true,
    headers: {
      authorization: `Bearer ${await sign({ sub: `hostile-admin-${caseNumber++}`, ...(admin ? { role: "admin" } : {}) })}`
    },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

const credits: ReadonlyArray<Case> = [
  ["a credit by a non-admin", 403, credit({ user_id: "hostile-target", amount: 100 }, false)],
  [
    "a role claim of the wrong type",
    403,
    async () => ({
      method: "POST",
      path: "/billing/credits",
      anonymous: true,
      headers: { authorization: `Bearer ${await sign({ sub: "hostile-role", role: ["admin"] })}` },
      body: JSON.stringify({ user_id: "hostile-target", amount: 100 })
    })
  ],
  ["an amount that is a word", 400, credit({ user_id: "hostile-target", amount: "lots" })],
  ["an amount with ten decimals", 400, credit({ user_id: "hostile-target", amount: "1.0000000001" })],
  ["an amount of 1e30", 400, credit({ user_id: "hostile-target", amount: 1e30 })],
  ["an amount in exponent form", 400, credit({ user_id: "hostile-target", amount: "1e3" })],
  ["an amount that is hexadecimal", 400, credit({ user_id: "hostile-target", amount: "0x10" })],
  ["an amount of zero", 400, credit({ user_id: "hostile-target", amount: 0 })],
  ["an empty user id", 400, credit({ user_id: "", amount: 10 })],
  ["a 300-character user id", 400, credit({ user_id: "u".repeat(300), amount: 10 })],
  ["no user id", 400, credit({ amount: 10 })],
  ["no amount", 400, credit({ user_id: "hostile-target" })],
  ["a 600-character description", 400, credit({ user_id: "hostile-target", amount: 10, description: "d".repeat(600) })],
  ["a credit body nested 100 levels", 400, credit(`{"user_id":"hostile-target","amount":10,"x":${nested(100)}}`)]
]

const metrics: ReadonlyArray<Case> = [
  ["metrics without the token", 401, () => ({ path: "/metrics", anonymous: true })],
  [
    "metrics with a user's JWT",
    401,
    async () => ({ path: "/metrics", anonymous: true, headers: { authorization: `Bearer ${await validToken()}` } })
  ],
  [
    "metrics with a near-miss token",
    401,
    () => ({ path: "/metrics", anonymous: true, headers: { authorization: `Bearer ${metricsToken.slice(0, -1)}` } })
  ],
  [
    "metrics with the token as Basic",
    401,
    () => ({ path: "/metrics", anonymous: true, headers: { authorization: `Basic ${metricsToken}` } })
  ]
]

const all: ReadonlyArray<readonly [string, ...Case]> = [
  ...bodies.map((c) => ["body", ...c] as const),
  ...contentTypes.map((c) => ["content type", ...c] as const),
  ...tokens.map((c) => ["token", ...c] as const),
  ...queries.map((c) => ["query", ...c] as const),
  ...paths.map((c) => ["path", ...c] as const),
  ...credits.map((c) => ["credit", ...c] as const),
  ...metrics.map((c) => ["metrics", ...c] as const)
]

const send = async (attempt: Attempt): Promise<Response> => {
  const headers: Record<string, string> = {
    ...(attempt.body === undefined ? {} : { "content-type": "application/json" }),
    ...(attempt.anonymous === true ? {} : { authorization: `Bearer ${await validToken()}` }),
    ...attempt.headers
  }
  return fetch(`${gateway.url}${attempt.path}`, {
    method: attempt.method ?? "GET",
    headers,
    ...(attempt.body === undefined ? {} : { body: attempt.body })
  })
}

describe("hostile requests", () => {
  it("number at least 100", () => {
    expect(all.length).toBeGreaterThanOrEqual(100)
  })

  it.each(all)("%s: %s → %i in the error format", async (_kind, _name, status, attempt) => {
    const response = await send(await attempt())
    const text = await response.text()
    expect({ status: response.status, text: text.slice(0, 300) }).toMatchObject({ status })
    expect(response.headers.get("content-type")).toMatch(/^application\/json/)
    expect(response.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/)
    const body = JSON.parse(text)
    expect(body).toEqual({
      detail: expect.any(String),
      code: status,
      error_type: expect.any(String),
      error: {
        message: body.detail,
        type: body.error_type,
        param: expect.toSatisfy((p) => p === null || typeof p === "string"),
        code: null
      }
    })
    expect(body.detail.length).toBeGreaterThan(0)
    expect(body.detail.length).toBeLessThan(1000)
    expect(text).not.toMatch(/at .*\.ts:\d+|node_modules|Error:|errno/)
  })

  it("left nothing in the ledger: no account, hold, charge, credit or adjustment", async () => {
    if (gateway.databaseUrl === undefined) return
    const rows = await runSql(
      gateway.databaseUrl,
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [counts] = yield* sql<{ accounts: number; transactions: number; holds: number }>`
          SELECT (SELECT count(*)::int FROM billing_accounts) AS accounts,
                 (SELECT count(*)::int FROM billing_transactions) AS transactions,
                 (SELECT count(*)::int FROM billing_holds) AS holds`
        return counts
      })
    )
    expect(rows).toEqual({ accounts: 0, transactions: 0, holds: 0 })
  })
})
