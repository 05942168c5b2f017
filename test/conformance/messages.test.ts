/**
 * Conformance of `/v1/messages`: the official `@anthropic-ai/sdk` talks to the gateway, and the gateway to the
 * fake OpenAI, Anthropic and Gemini upstreams through the same pipeline as chat. Each test asserts what the
 * SDK got and what the upstream received.
 */
import Anthropic from "@anthropic-ai/sdk"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { client as billingClient, usd } from "../support/billingClient.ts"
import { authHeaders, startGateway, token } from "../support/gateway.ts"
import { type Conformance, keys, models, quickRetries, resetAll, startConformance } from "./support.ts"

let setup: Conformance
beforeAll(async () => {
  setup = await startConformance()
})
afterAll(() => setup.close())
beforeEach(() => resetAll(setup.upstreams))

let users = 0
const newUser = (label: string) => `${label}-${++users}-${Math.random().toString(36).slice(2, 8)}`

/** The SDK as an Anthropic client configures it: the base URL, the gateway's JWT as its API key, no retries. */
const anthropic = async (user = "messages-conformance") =>
  new Anthropic({ baseURL: setup.gateway.url, apiKey: await token(user), maxRetries: 0 })

const unicode = "Привет, мир! 👋 日本語 — naïve café ∑"

const weather: Anthropic.Tool = {
  name: "get_weather",
  description: "Weather in a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
}
const call = { reply: { toolCalls: [{ id: "toolu_up_1", name: "get_weather", arguments: { city: "Paris" } }] } }

describe.each(models)("$model through /v1/messages", ({ model, vendor }) => {
  const fake = () => setup.upstreams[vendor]
  const received = () => fake().received.at(-1)!

  it("answers messages.create in Anthropic's shape, system prompt and unicode intact", async () => {
    const sdk = await anthropic()
    const { data, response } = await sdk.messages
      .create({ model, max_tokens: 100, system: "Be brief.", messages: [{ role: "user", content: unicode }] })
      .withResponse()
    expect(response.headers.get("x-gateway-provider")).toBe(vendor)
    expect(response.headers.get("request-id")).toMatch(/^req_/)
    expect(data).toMatchObject({ type: "message", role: "assistant", model, stop_reason: "end_turn" })
    expect(data.id).toMatch(/^msg_/)
    expect(data.content).toEqual([{ type: "text", text: `Echo: ${unicode}` }])
    expect(data.usage.output_tokens).toBe(9)
    expect(data.usage.input_tokens).toBeGreaterThan(0)
    expect(data.usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 0 })
    // Metrics and logs see the route by its template, like chat's.
    const metrics = await (await fetch(`${setup.gateway.url}/metrics`)).text()
    expect(metrics).toMatch(/http_requests_total\{[^}]*route="\/v1\/messages"[^}]*status="200"/)

    const body = received().body
    if (vendor === "anthropic") {
      expect(body).toMatchObject({
        model: "claude-3-haiku-20240307",
        max_tokens: 100,
        system: "Be brief.",
        messages: [{ role: "user", content: [{ type: "text", text: unicode }] }]
      })
    }
    if (vendor === "openai") {
      expect(body.messages).toEqual([
        { role: "system", content: "Be brief." },
        { role: "user", content: unicode }
      ])
      expect(body.max_tokens).toBe(100)
    }
    if (vendor === "gemini") expect(body.systemInstruction).toEqual({ parts: [{ text: "Be brief." }] })
  })

  it("streams Anthropic's events, which messages.stream's helpers and finalMessage() accept", async () => {
    const sdk = await anthropic()
    const stream = sdk.messages.stream({ model, max_tokens: 100, messages: [{ role: "user", content: unicode }] })
    const types: Array<string> = []
    let text = ""
    stream.on("streamEvent", (event) => types.push(event.type))
    stream.on("text", (delta) => {
      text += delta
    })
    const final = await stream.finalMessage()
    expect(text).toBe(`Echo: ${unicode}`)
    expect(final.content).toEqual([{ type: "text", text: `Echo: ${unicode}` }])
    expect(final.stop_reason).toBe("end_turn")
    expect(final.usage.output_tokens).toBe(9)
    expect(final.usage.input_tokens).toBeGreaterThan(0)
    expect(types[0]).toBe("message_start")
    expect(types.slice(-2)).toEqual(["message_delta", "message_stop"])
    expect(types.filter((type) => type === "content_block_start")).toHaveLength(1)
    expect(types.filter((type) => type === "content_block_stop")).toHaveLength(1)
    if (vendor === "anthropic") expect(received().body.stream).toBe(true)
  })

  it("reports max_tokens and stop sequences as Anthropic's stop reasons", async () => {
    const sdk = await anthropic()
    const cut = await sdk.messages.create({ model, max_tokens: 2, messages: [{ role: "user", content: "Hi there" }] })
    expect(cut.stop_reason).toBe("max_tokens")
    expect(cut.content).toEqual([{ type: "text", text: "Echo: Hi " }])
    const stopped = await sdk.messages.create({
      model,
      max_tokens: 50,
      stop_sequences: ["there"],
      messages: [{ role: "user", content: "Hi there" }]
    })
    expect(stopped.content).toEqual([{ type: "text", text: "Echo: Hi " }])
    // The canonical shape does not say which stop sequence matched (docs/messages.md).
    expect(stopped.stop_reason).toBe("end_turn")
  })

  it("returns tool_use blocks, streamed or not, and takes the tool_result back", async () => {
    const sdk = await anthropic()
    fake().script({ kind: "reply", ...call }, { kind: "reply", ...call })
    const question: Anthropic.MessageParam = { role: "user", content: "Weather in Paris?" }
    const plain = await sdk.messages.create({
      model,
      max_tokens: 200,
      messages: [question],
      tools: [weather],
      tool_choice: { type: "any" }
    })
    expect(plain.stop_reason).toBe("tool_use")
    const use = plain.content.find((block) => block.type === "tool_use")!
    expect(use).toMatchObject({ type: "tool_use", name: "get_weather", input: { city: "Paris" } })

    const streamed = await sdk.messages
      .stream({ model, max_tokens: 200, messages: [question], tools: [weather], tool_choice: { type: "any" } })
      .finalMessage()
    expect(streamed.stop_reason).toBe("tool_use")
    expect(streamed.content.find((block) => block.type === "tool_use")).toMatchObject({
      name: "get_weather",
      input: { city: "Paris" }
    })

    const answer = await sdk.messages.create({
      model,
      max_tokens: 200,
      tools: [weather],
      messages: [
        question,
        { role: "assistant", content: plain.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "21C sunny" }] }
      ]
    })
    expect(answer.stop_reason).toBe("end_turn")
    const body = received().body
    if (vendor === "anthropic") {
      expect(body.messages.at(-2)).toEqual({
        role: "assistant",
        content: [{ type: "tool_use", id: use.id, name: "get_weather", input: { city: "Paris" } }]
      })
      expect(body.messages.at(-1)).toEqual({
        role: "user",
        content: [{ type: "tool_result", tool_use_id: use.id, content: "21C sunny" }]
      })
      expect(body.tools).toEqual([
        { name: "get_weather", description: "Weather in a city", input_schema: weather.input_schema }
      ])
    }
    if (vendor === "openai") {
      expect(body.messages.at(-2)).toMatchObject({
        role: "assistant",
        tool_calls: [{ id: use.id, type: "function", function: { name: "get_weather" } }]
      })
      expect(body.messages.at(-1)).toEqual({ role: "tool", tool_call_id: use.id, content: "21C sunny" })
    }
    if (vendor === "gemini") {
      expect(body.contents.at(-1).parts[0].functionResponse).toMatchObject({ name: "get_weather" })
    }
  })

  it("counts a request's input tokens with the gateway's tokenizer", async () => {
    const sdk = await anthropic()
    const short = await sdk.messages.countTokens({ model, messages: [{ role: "user", content: "Hi" }] })
    const long = await sdk.messages.countTokens({
      model,
      system: "Be brief.",
      tools: [weather],
      messages: [{ role: "user", content: unicode }]
    })
    expect(short.input_tokens).toBeGreaterThan(0)
    expect(long.input_tokens).toBeGreaterThan(short.input_tokens)
    expect(fake().received).toHaveLength(0)
  })
})

describe("/v1/messages errors, in Anthropic's format", () => {
  it("an unknown model is the SDK's NotFoundError with Anthropic's error type", async () => {
    const sdk = await anthropic()
    const error = await sdk.messages
      .create({ model: "no-such-model", max_tokens: 10, messages: [{ role: "user", content: "Hi" }] })
      .catch((error: unknown) => error)
    expect(error).toBeInstanceOf(Anthropic.NotFoundError)
    const notFound = error as InstanceType<typeof Anthropic.NotFoundError>
    expect(notFound.status).toBe(404)
    expect(notFound.type).toBe("not_found_error")
    expect(notFound.error).toEqual({
      type: "error",
      error: { type: "not_found_error", message: expect.stringContaining("no-such-model") }
    })
    expect(notFound.requestID).toMatch(/^req_/)
  })

  it("a bad key is the SDK's AuthenticationError, as x-api-key or as a bearer token", async () => {
    for (const headers of [{ "x-api-key": "not-a-jwt" }, { authorization: "Bearer not-a-jwt" }]) {
      const response = await fetch(`${setup.gateway.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", ...headers },
        body: JSON.stringify({ model: "claude-3", max_tokens: 10, messages: [{ role: "user", content: "Hi" }] })
      })
      expect(response.status).toBe(401)
      expect(await response.json()).toEqual({
        type: "error",
        error: { type: "authentication_error", message: expect.stringContaining("authentication token") }
      })
    }
    const sdk = new Anthropic({ baseURL: setup.gateway.url, apiKey: "not-a-jwt", maxRetries: 0 })
    const error = await sdk.messages
      .create({ model: "claude-3", max_tokens: 10, messages: [{ role: "user", content: "Hi" }] })
      .catch((error: unknown) => error)
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError)
  })

  it("takes the JWT as x-api-key, and requires anthropic-version", async () => {
    const request = (headers: Record<string, string>) =>
      fetch(`${setup.gateway.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ model: "claude-3", max_tokens: 10, messages: [{ role: "user", content: "Hi" }] })
      })
    const jwt = await token("messages-api-key")
    const ok = await request({ "x-api-key": jwt, "anthropic-version": "2023-06-01" })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ type: "message", content: [{ type: "text", text: "Echo: Hi" }] })
    const missing = await request({ "x-api-key": jwt })
    expect(missing.status).toBe(400)
    expect(await missing.json()).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: "Invalid headers: anthropic-version: header is required" }
    })
  })

  it("serves the SDK's beta Messages API (?beta=true, anthropic-beta), which coding agents use", async () => {
    const sdk = await anthropic()
    const message = await sdk.beta.messages.create({
      model: "claude-3",
      max_tokens: 10,
      betas: ["interleaved-thinking-2025-05-14"],
      messages: [{ role: "user", content: "Hi" }]
    })
    expect(message.content).toEqual([{ type: "text", text: "Echo: Hi" }])
  })

  it("a bad body is a 400 invalid_request_error naming the field", async () => {
    const sdk = await anthropic()
    const noMax = await sdk.messages
      .create({ model: "claude-3", messages: [{ role: "user", content: "Hi" }] } as never)
      .catch((error: unknown) => error)
    expect(noMax).toBeInstanceOf(Anthropic.BadRequestError)
    expect((noMax as InstanceType<typeof Anthropic.BadRequestError>).error).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: expect.stringContaining("max_tokens") }
    })
    const bogus = await sdk.messages
      .create({
        model: "claude-3",
        max_tokens: 10,
        messages: [{ role: "user", content: [{ type: "bogus" }] }]
      } as never)
      .catch((error: unknown) => error)
    expect((bogus as InstanceType<typeof Anthropic.BadRequestError>).error).toEqual({
      type: "error",
      error: {
        type: "invalid_request_error",
        message:
          "Invalid request body: messages[0].content[0]: Expected a content block of type text, image, document, tool_use, tool_result, thinking or redacted_thinking"
      }
    })
    const topK = await sdk.messages
      .create({ model: "claude-3", max_tokens: 10, top_k: 5, messages: [{ role: "user", content: "Hi" }] } as never)
      .catch((error: unknown) => error)
    expect((topK as InstanceType<typeof Anthropic.BadRequestError>).error).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: expect.stringContaining("top_k") }
    })
  })

  it("an upstream that stays overloaded is 529 overloaded_error", async () => {
    const sdk = await anthropic()
    setup.upstreams.anthropic.script(
      ...Array.from({ length: 5 }, () => ({ kind: "error" as const, status: 529, type: "overloaded_error" }))
    )
    const error = await sdk.messages
      .create({ model: "claude-3", max_tokens: 10, messages: [{ role: "user", content: "Hi" }] })
      .catch((error: unknown) => error)
    expect(error).toBeInstanceOf(Anthropic.InternalServerError)
    const overloaded = error as InstanceType<typeof Anthropic.InternalServerError>
    expect(overloaded.status).toBe(529)
    expect(overloaded.type).toBe("overloaded_error")
  })

  it("a failure after the stream began is Anthropic's error event, which the SDK throws", async () => {
    const sdk = await anthropic()
    setup.upstreams.anthropic.script({
      kind: "streamError",
      afterEvents: 3,
      message: "Overloaded",
      type: "overloaded_error"
    })
    const stream = sdk.messages.stream({
      model: "claude-3",
      max_tokens: 50,
      messages: [{ role: "user", content: "Hi there" }]
    })
    const error = await stream.finalMessage().catch((error: unknown) => error)
    expect(error).toBeInstanceOf(Anthropic.APIError)
    expect((error as InstanceType<typeof Anthropic.APIError>).type).toBe("overloaded_error")
  })

  it("an empty balance is 402 billing_error", async () => {
    const user = newUser("broke")
    const billing = billingClient(setup.gateway.url)
    const { balance } = await billing.balance(user)
    const drained = await billing.credit({ user_id: user, amount: Number(-balance) / 1e9, kind: "adjustment" })
    expect(drained.status).toBe(200)
    const sdk = await anthropic(user)
    const error = await sdk.messages
      .create({ model: "claude-3", max_tokens: 10, messages: [{ role: "user", content: "Hi" }] })
      .catch((error: unknown) => error)
    expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(402)
    expect((error as InstanceType<typeof Anthropic.APIError>).type).toBe("billing_error")
  })
})

describe("/v1/messages limits and routes, in Anthropic's format", () => {
  it("a user over the rate limit gets 429 rate_limit_error with Retry-After, counted with chat", async () => {
    const limited = await startGateway({ RATE_LIMIT_PER_USER_PER_MINUTE: "2", LOG_LEVEL: "none" })
    try {
      const user = "messages-limited"
      const headers = { ...(await authHeaders(user)), "anthropic-version": "2023-06-01" }
      const chat = await fetch(`${limited.url}/v1/chat/completions`, {
        method: "POST",
        headers,
        body: JSON.stringify({ model: "claude-3", messages: [{ role: "user", content: "Hi" }] })
      })
      expect(chat.status).toBe(200)
      const sdk = new Anthropic({ baseURL: limited.url, apiKey: await token(user), maxRetries: 0 })
      const request = { model: "claude-3", max_tokens: 10, messages: [{ role: "user" as const, content: "Hi" }] }
      await sdk.messages.create(request)
      const error = await sdk.messages.create(request).catch((error: unknown) => error)
      expect(error).toBeInstanceOf(Anthropic.RateLimitError)
      const refused = error as InstanceType<typeof Anthropic.RateLimitError>
      expect(refused.error).toEqual({
        type: "error",
        error: { type: "rate_limit_error", message: expect.stringContaining("Rate limit exceeded") }
      })
      expect(Number(refused.headers?.get("retry-after"))).toBeGreaterThan(0)
    } finally {
      await limited.close()
    }
  })

  it("what the gateway does not serve under /v1/messages (batches) is the SDK's NotFoundError", async () => {
    const sdk = await anthropic()
    const error = await sdk.messages.batches.list().catch((error: unknown) => error)
    expect(error).toBeInstanceOf(Anthropic.NotFoundError)
    expect((error as InstanceType<typeof Anthropic.NotFoundError>).type).toBe("not_found_error")
    expect((error as InstanceType<typeof Anthropic.NotFoundError>).requestID).toMatch(/^req_/)
  })

  it("a wrong method on a Messages route is answered in Anthropic's format", async () => {
    const response = await fetch(`${setup.gateway.url}/v1/messages`, { headers: await authHeaders("messages-get") })
    expect(response.status).toBe(405)
    expect(response.headers.get("allow")).toBe("POST")
    expect(await response.json()).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: expect.stringContaining("POST") }
    })
  })
})

describe("/v1/messages fallbacks", () => {
  it("a model whose upstream fails is answered by its fallback, in Anthropic's shape, as for chat", async () => {
    const modelsFile = join(mkdtempSync(join(tmpdir(), "gateway-messages-")), "models.json")
    const entry = (id: string, provider: string, upstream: string, fallbacks: ReadonlyArray<string> = []) => ({
      id,
      provider,
      upstream_model: upstream,
      input_price_per_1m: 1,
      output_price_per_1m: 2,
      max_output_tokens: 4096,
      context_window: 128000,
      fallbacks
    })
    writeFileSync(
      modelsFile,
      JSON.stringify({
        models: [
          entry("gpt-4", "openai", "gpt-4", ["claude-3"]),
          entry("claude-3", "anthropic", "claude-3-haiku-20240307")
        ]
      })
    )
    const { openai, anthropic: claude } = setup.upstreams
    const gateway = await startGateway({
      ...quickRetries,
      MODELS_FILE: modelsFile,
      SIMULATE_PROVIDERS: "false",
      OPENAI_API_KEY: keys.openai,
      OPENAI_BASE_URL: `${openai.url}/v1`,
      ANTHROPIC_API_KEY: keys.anthropic,
      ANTHROPIC_BASE_URL: claude.url
    })
    try {
      openai.script(...Array.from({ length: 3 }, () => ({ kind: "error" as const, status: 503 })))
      const sdk = new Anthropic({ baseURL: gateway.url, apiKey: await token("fallback"), maxRetries: 0 })
      const { data, response } = await sdk.messages
        .create({ model: "gpt-4", max_tokens: 20, messages: [{ role: "user", content: "Hi" }] })
        .withResponse()
      expect(response.headers.get("x-gateway-fallback-from")).toBe("gpt-4")
      expect(response.headers.get("x-gateway-provider")).toBe("anthropic")
      expect(data).toMatchObject({ type: "message", model: "claude-3", content: [{ type: "text", text: "Echo: Hi" }] })
      expect(claude.received).toHaveLength(1)
    } finally {
      await gateway.close()
    }
  })
})

describe("/v1/messages with an Idempotency-Key", () => {
  it("a repeat gets the stored message and is not charged again; another body with the key is 422", async () => {
    const user = newUser("idempotent")
    const sdk = await anthropic(user)
    const billing = billingClient(setup.gateway.url)
    const key = `key-${Math.random().toString(36).slice(2)}`
    const request = { model: "claude-3", max_tokens: 20, messages: [{ role: "user" as const, content: "Hi" }] }
    const first = await sdk.messages.create(request, { headers: { "Idempotency-Key": key } }).withResponse()
    const repeat = await sdk.messages.create(request, { headers: { "Idempotency-Key": key } }).withResponse()
    expect(repeat.data).toEqual(first.data)
    expect(repeat.response.headers.get("idempotent-replayed")).toBe("true")
    expect(setup.upstreams.anthropic.received).toHaveLength(1)
    const { body } = await billing.transactions(user)
    expect((body.transactions as Array<{ request_id?: string }>).filter((row) => row.request_id)).toHaveLength(1)

    const other = await sdk.messages
      .create({ ...request, max_tokens: 21 }, { headers: { "Idempotency-Key": key } })
      .catch((error: unknown) => error)
    expect((other as InstanceType<typeof Anthropic.APIError>).status).toBe(422)
    expect((other as InstanceType<typeof Anthropic.APIError>).error).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: expect.any(String) }
    })
  })

  it("a streamed request with a key is refused in Anthropic's format", async () => {
    const sdk = await anthropic()
    const error = await sdk.messages
      .stream(
        { model: "claude-3", max_tokens: 20, messages: [{ role: "user", content: "Hi" }] },
        { headers: { "Idempotency-Key": "streamed" } }
      )
      .finalMessage()
      .catch((error: unknown) => error)
    expect(error).toBeInstanceOf(Anthropic.BadRequestError)
    expect((error as InstanceType<typeof Anthropic.BadRequestError>).error).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: expect.stringContaining("stream") }
    })
  })
})

describe("/v1/messages billing", () => {
  it.each(models)("charges a $model message exactly as the equivalent chat completion", async ({ model }) => {
    const billing = billingClient(setup.gateway.url)
    const viaMessages = newUser("ledger-messages")
    const viaChat = newUser("ledger-chat")
    const sdk = await anthropic(viaMessages)
    const message = await sdk.messages.create({
      model,
      max_tokens: 64,
      system: "Be brief.",
      messages: [{ role: "user", content: unicode }]
    })
    const chat = await billing.chat(viaChat, {
      model,
      max_tokens: 64,
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: unicode }
      ]
    })
    expect(chat.status).toBe(200)
    const completion = (await chat.json()) as { usage: { prompt_tokens: number; completion_tokens: number } }
    expect(message.usage.input_tokens).toBe(completion.usage.prompt_tokens)
    expect(message.usage.output_tokens).toBe(completion.usage.completion_tokens)

    /** The ledger's charge rows (those that name a request), without what differs per request. */
    const charges = async (user: string) => {
      const { body } = await billing.transactions(user, "", { exact: true })
      return (body.transactions as Array<Record<string, unknown>>)
        .filter((row) => typeof row.request_id === "string")
        .map(({ id: _id, user_id: _user, request_id: _request, timestamp: _at, balance_after: _after, ...row }) => row)
    }
    const [messageCharges, chatCharges] = [await charges(viaMessages), await charges(viaChat)]
    expect(messageCharges).toHaveLength(1)
    expect(messageCharges).toEqual(chatCharges)
    expect(messageCharges[0]).toMatchObject({ model, usage_source: "provider" })
    expect(usd(messageCharges[0]!.amount as string)).toBeLessThan(0n)
    expect((await billing.balance(viaMessages)).balance).toBe((await billing.balance(viaChat)).balance)
  })
})

describe("Claude through /v1/messages: thinking, tool loops and cache usage", () => {
  const fake = () => setup.upstreams.anthropic
  const weatherCall = {
    kind: "reply" as const,
    reply: { toolCalls: [{ id: "toolu_p1", name: "get_weather", arguments: { city: "Paris" } }] }
  }

  it("sends thinking as the catalog's budget and returns signed thinking blocks, plain and streamed", async () => {
    const sdk = await anthropic()
    const request = {
      model: "claude-sonnet-4-5",
      max_tokens: 12000,
      thinking: { type: "enabled" as const, budget_tokens: 8000 },
      messages: [{ role: "user" as const, content: "Why is the sky blue?" }]
    }
    const plain = await sdk.messages.create(request)
    // The size class of the budget reaches Claude, as the catalog's budget for it (docs/messages.md).
    expect(fake().received[0]?.body).toMatchObject({
      max_tokens: 12000,
      thinking: { type: "enabled", budget_tokens: 8192 }
    })
    expect(plain.content).toEqual([
      { type: "thinking", thinking: "Thinking about: Why is the sky blue?", signature: expect.any(String) },
      { type: "text", text: "Echo: Why is the sky blue?" }
    ])

    const stream = sdk.messages.stream(request)
    let thinking = ""
    stream.on("thinking", (delta) => {
      thinking += delta
    })
    const streamed = await stream.finalMessage()
    expect(thinking).toBe("Thinking about: Why is the sky blue?")
    expect(streamed.content).toEqual(plain.content)
    expect((streamed.content[0] as Anthropic.ThinkingBlock).signature).not.toBe("")
  })

  it("runs a thinking tool loop: the assistant turn goes back with its signed thinking block", async () => {
    const sdk = await anthropic()
    fake().script(weatherCall)
    const base = {
      model: "claude-sonnet-4-5",
      max_tokens: 12000,
      thinking: { type: "enabled" as const, budget_tokens: 8000 },
      tools: [weather]
    }
    const question: Anthropic.MessageParam = { role: "user", content: "Weather in Paris?" }
    const asked = await sdk.messages.create({ ...base, messages: [question] })
    expect(asked.stop_reason).toBe("tool_use")
    expect(asked.content.map((block) => block.type)).toEqual(["thinking", "tool_use"])
    const use = asked.content[1] as Anthropic.ToolUseBlock
    const answer = await sdk.messages.create({
      ...base,
      messages: [
        question,
        { role: "assistant", content: asked.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "21C sunny" }] }
      ]
    })
    expect(answer.stop_reason).toBe("end_turn")
    const sent = fake().received[1]!.body.messages[1]
    expect(sent).toEqual({ role: "assistant", content: [asked.content[0], { ...asked.content[1] }] })
  })

  it("forwards prompt-caching breakpoints to Claude, and to no other vendor", async () => {
    const sdk = await anthropic()
    const request = (model: string): Anthropic.MessageCreateParamsNonStreaming => ({
      model,
      max_tokens: 50,
      system: [{ type: "text", text: "Long instructions.", cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: [{ type: "text", text: "Hi", cache_control: { type: "ephemeral" } }] }]
    })
    await sdk.messages.create(request("claude-3"))
    expect(fake().received[0]?.body).toMatchObject({
      system: [{ type: "text", text: "Long instructions.", cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: [{ type: "text", text: "Hi", cache_control: { type: "ephemeral" } }] }]
    })
    await sdk.messages.create(request("gpt-4"))
    const sent = setup.upstreams.openai.received.at(-1)!.body
    expect(JSON.stringify(sent)).not.toContain("cache_control")
    expect(sent.messages[1]).toEqual({ role: "user", content: [{ type: "text", text: "Hi" }] })
  })

  it("reports cache reads and writes in Anthropic's usage fields, as Claude reported them", async () => {
    const sdk = await anthropic()
    const usage = { input: 7, output: 5, cacheRead: 300, cacheWrite: 40 }
    fake().script(
      { kind: "reply", reply: { text: "cached", usage } },
      { kind: "reply", reply: { text: "cached", usage } }
    )
    const expected = {
      input_tokens: 7,
      output_tokens: 5,
      cache_read_input_tokens: 300,
      cache_creation_input_tokens: 40
    }
    const plain = await sdk.messages.create({
      model: "claude-3",
      max_tokens: 50,
      messages: [{ role: "user", content: "Hi" }]
    })
    expect(plain.usage).toMatchObject(expected)
    const streamed = await sdk.messages
      .stream({ model: "claude-3", max_tokens: 50, messages: [{ role: "user", content: "Hi" }] })
      .finalMessage()
    expect(streamed.usage).toMatchObject(expected)
  })
})
