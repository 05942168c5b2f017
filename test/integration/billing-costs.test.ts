/**
 * Billing as a client sees it through the API: balances that drop by exactly the cost of
 * each completion (plain and streamed, every model), clamped budgets and 402s, streams cut
 * by the client.
 */
import { Result } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { CatalogModel } from "../../src/domain/Catalog.ts"
import * as Money from "../../src/domain/Money.ts"
import type { ChatCompletionRequest } from "../../src/domain/Chat.ts"
import { countPromptTokens, countTextTokens, promptUpperBound } from "../../src/domain/Tokens.ts"
import { builtInEmbeddingModels, builtInModels, buildCatalog } from "../../src/services/registry/ModelCatalog.ts"
import { type Conformance, models, startConformance } from "../conformance/support.ts"
import { client, usd } from "../support/billingClient.ts"
import { authHeaders, startGateway, type TestGateway } from "../support/gateway.ts"
import { type HandPrices, handCost } from "../support/handCost.ts"
import type { Json } from "../support/json.ts"

let gateway: TestGateway
let api: ReturnType<typeof client>
beforeAll(async () => {
  gateway = await startGateway()
  api = client(gateway.url)
})
afterAll(() => gateway.close())

let users = 0
const newUser = (label: string) => `${label}-${++users}-${Math.random().toString(36).slice(2, 8)}`
const hello = (model: string, extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest => ({
  model,
  messages: [{ role: "user", content: `Привет! Расскажи о ${model}` }],
  ...extra
})

const sseEvents = (text: string): Array<Json> =>
  text
    .split("\n\n")
    .filter((event) => event.startsWith("data: ") && event !== "data: [DONE]")
    .map((event) => JSON.parse(event.slice("data: ".length)))

/** A built-in model's prices as its catalog entry writes them. */
const pricesOf = (modelId: string): HandPrices => {
  const entry = builtInModels.find((model) => model.id === modelId)!
  return { input: entry.input_price_per_1m, output: entry.output_price_per_1m }
}
const catalogModel = (modelId: string): CatalogModel =>
  (buildCatalog(builtInModels, "built-in") as ReadonlyArray<CatalogModel>).find((model) => model.id === modelId)!
/** What a usage costs, worked out by the test (test/support/handCost.ts), not by the code it tests. */
const costOfUsage = (modelId: string, usage: { prompt_tokens: number; completion_tokens: number }) =>
  handCost(pricesOf(modelId), { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens })

/** Plain, then streamed: the balance drops by exactly usage × the model's catalog prices, each time. */
const balanceDropsByExactCost = async (api: ReturnType<typeof client>, modelId: string) => {
  const userId = newUser("costs")
  const start = await api.balance(userId)
  expect(start).toEqual({ balance: usd("100"), available: usd("100") })

  const plain = await api.chat(userId, hello(modelId))
  expect(plain.status).toBe(200)
  const { usage } = (await plain.json()) as Json
  const plainCost = costOfUsage(modelId, usage)
  expect(plainCost).toBeGreaterThan(0n)
  expect(usd(plain.headers.get("x-request-cost")!)).toBe(plainCost)
  expect(usd(plain.headers.get("x-balance-remaining")!)).toBe(start.balance - plainCost)
  expect(await api.balance(userId)).toEqual({
    balance: start.balance - plainCost,
    available: start.balance - plainCost
  })

  const streamed = await api.chat(
    userId,
    hello(modelId, {
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "Hi" }]
    })
  )
  expect(streamed.status).toBe(200)
  const streamUsage = sseEvents(await streamed.text()).at(-1).usage
  const streamCost = costOfUsage(modelId, streamUsage)
  // The ledger names the gateway's id (the response's x-request-id), never the client's.
  const charge = await api.chargeOf(userId, streamed.headers.get("x-request-id")!)
  expect(charge).toMatchObject({
    description: `Chat completion with ${modelId}`,
    model: modelId,
    prompt_tokens: streamUsage.prompt_tokens,
    completion_tokens: streamUsage.completion_tokens,
    usage_source: "provider"
  })
  expect(usd(charge.amount)).toBe(-streamCost)
  const end = start.balance - plainCost - streamCost
  expect(usd(charge.balance_after)).toBe(end)
  expect(await api.balance(userId)).toEqual({ balance: end, available: end })

  const { body } = await api.transactions(userId)
  expect(body.transactions.map((transaction: Json) => transaction.description)).toEqual([
    `Chat completion with ${modelId}`,
    `Chat completion with ${modelId}`,
    "Initial balance"
  ])
  expect(body.transactions[2]).toMatchObject({ amount: 100, balance_after: 100 })
}

describe("a seed-style client sees its balance drop by exactly the cost of each completion", () => {
  it.each(builtInModels.map((model) => model.id))("%s (simulated), plain and streamed", (modelId) =>
    balanceDropsByExactCost(api, modelId)
  )

  it.each(["text-embedding-3-small", "gemini-embedding-001"])(
    "%s (simulated): input tokens at the catalog's input price",
    async (modelId) => {
      const userId = newUser("embeddings")
      const start = await api.balance(userId)
      const response = await fetch(`${gateway.url}/v1/embeddings`, {
        method: "POST",
        headers: await authHeaders(userId),
        body: JSON.stringify({ model: modelId, input: ["Привет, мир", "hello world, again"], dimensions: 64 })
      })
      expect(response.status).toBe(200)
      const body = (await response.json()) as Json
      expect(body.data.map((item: Json) => item.embedding.length)).toEqual([64, 64])
      const entry = builtInEmbeddingModels.find((model) => model.id === modelId)!
      const cost = handCost(
        { input: entry.input_price_per_1m, output: 0 },
        { promptTokens: body.usage.prompt_tokens, completionTokens: 0 }
      )
      expect(cost).toBeGreaterThan(0n)
      expect(usd(response.headers.get("x-request-cost")!)).toBe(cost)
      expect(await api.balance(userId)).toEqual({ balance: start.balance - cost, available: start.balance - cost })
    }
  )

  describe("through the real adapters and the fake upstreams", () => {
    let conformance: Conformance
    beforeAll(async () => {
      conformance = await startConformance()
    })
    afterAll(() => conformance.close())

    it.each(models.map((entry) => entry.model))("%s, plain and streamed", (modelId) =>
      balanceDropsByExactCost(client(conformance.gateway.url), modelId)
    )

    // A 1×1 PNG: the hold for it and one completion token is a fraction of a cent.
    const pixel =
      "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="

    it.each([
      // 100,000 × $30 + 1 × $60 per million tokens.
      ["gpt-4", "openai", "3.00006"],
      // 100,000 × $0.25 + 1 × $1.25.
      ["claude-3", "anthropic", "0.02500125"],
      // 100,000 × $1.25 + 1 × $5.
      ["gemini-1.5-pro", "gemini", "0.125005"]
    ] as const)(
      "%s: an image the %s upstream bills as 100,000 prompt tokens is charged its true cost, not capped at the hold",
      async (modelId, vendor, cost) => {
        const gatewayApi = client(conformance.gateway.url)
        const userId = newUser(`image-${vendor}`)
        conformance.upstreams[vendor].script({
          kind: "reply",
          reply: { text: "A pixel.", usage: { input: 100_000, output: 1 } }
        })
        const response = await gatewayApi.chat(userId, {
          model: modelId,
          max_tokens: 1,
          messages: [
            {
              role: "user",
              content: [
                { type: "text", text: "What is this?" },
                { type: "image_url", image_url: { url: pixel } }
              ]
            }
          ]
        })
        expect(response.status).toBe(200)
        expect(response.headers.get("x-request-cost")).toBe(cost)
        const { body } = await gatewayApi.transactions(userId, "", { exact: true })
        expect(body.transactions[0]).toMatchObject({ prompt_tokens: 100_000, uncollected: "0" })
        expect(usd(body.transactions[0].amount)).toBe(-usd(cost))
      }
    )
  })
})

describe("reserving before the call", () => {
  it("clamps the completion budget to what the balance pays for, and tells the client", async () => {
    const userId = newUser("clamp")
    const request = hello("gpt-4")
    // The prompt's ceiling at $30 per million tokens (30,000 nano-dollars a token).
    const promptCost = BigInt(Result.getOrThrow(promptUpperBound(request, []))) * 30_000n
    // And 5½ output tokens at $60 per million (60,000 nano-dollars a token): fewer than the simulator's shortest reply.
    const balance = promptCost + 330_000n
    await api.setBalance(userId, Money.format(balance))
    const affordable = 5

    const response = await api.chat(userId, request)
    expect(response.status).toBe(200)
    const maxTokens = Number(response.headers.get("x-gateway-max-tokens"))
    expect(maxTokens).toBe(affordable)
    const { usage, choices } = (await response.json()) as Json
    expect(usage.completion_tokens).toBeLessThanOrEqual(maxTokens)
    expect(choices[0].finish_reason).toBe("length")
    const after = await api.balance(userId)
    expect(after.balance).toBe(balance - costOfUsage("gpt-4", usage))
    expect(after.balance).toBeGreaterThanOrEqual(0n)
  })

  it("answers 402 without calling upstream when not even the prompt and one token are affordable", async () => {
    const userId = newUser("broke")
    await api.setBalance(userId, "0.0001")
    for (const stream of [false, true]) {
      const response = await api.chat(userId, hello("gpt-4", { stream }))
      expect(response.status).toBe(402)
      expect(response.headers.get("x-gateway-provider")).toBeNull()
      const body = (await response.json()) as Json
      expect(body).toMatchObject({ code: 402, error_type: "insufficient_balance" })
      expect(body.detail).toMatch(/^Insufficient balance: \$0\.0001 available/)
    }
    // A cheaper model still fits.
    expect((await api.chat(userId, hello("claude-3", { max_tokens: 5 }))).status).toBe(200)
    const { body } = await api.transactions(userId)
    expect(body.transactions.map((transaction: Json) => transaction.description)).toEqual([
      "Chat completion with claude-3",
      "test setup",
      "Initial balance"
    ])
  })

  it("concurrent first requests create one account with one initial balance", async () => {
    const userId = newUser("first")
    const requests = Array.from({ length: 40 }, (_, i) =>
      i % 2 === 0 ? api.balance(userId) : api.chat(userId, hello("gpt-3.5-turbo")).then((response) => response.status)
    )
    await Promise.all(requests)
    const { body } = await api.transactions(userId, "?limit=100")
    expect(body.total).toBe(21)
    expect(body.transactions.filter((transaction: Json) => transaction.description === "Initial balance")).toHaveLength(
      1
    )
  })
})

describe("a stream the client cuts", () => {
  let slow: TestGateway
  beforeAll(async () => {
    slow = await startGateway({ SIMULATOR_CHUNK_DELAY_MS: "25" })
  })
  afterAll(() => slow.close())

  const contentOf = (events: ReadonlyArray<Json>) =>
    events.map((event) => event.choices[0]?.delta?.content ?? "").filter((text: string) => text !== "")
  /** The tokenizer's count of streamed pieces, piece by piece as the gateway meters them. */
  const tokens = (pieces: ReadonlyArray<string>) =>
    pieces.reduce((sum, piece) => sum + countTextTokens(piece, catalogModel("gpt-4")), 0)

  it("aborts upstream and charges the prompt and the tokens streamed so far, counted by the tokenizer", async () => {
    const slowApi = client(slow.url)
    const userId = newUser("cut")
    const request = hello("gpt-4", { stream: true, messages: [{ role: "user", content: "Tell me a long story" }] })
    const whole = contentOf(sseEvents(await (await slowApi.chat(userId, request)).text()))

    const abort = new AbortController()
    const response = await fetch(`${slow.url}/v1/chat/completions`, {
      method: "POST",
      headers: await authHeaders(userId),
      body: JSON.stringify(request),
      signal: abort.signal
    })
    const reader = response.body!.getReader()
    let text = ""
    while (contentOf(sseEvents(text)).length < 3) text += new TextDecoder().decode((await reader.read()).value)
    abort.abort()
    const received = contentOf(sseEvents(text))

    const charge = await slowApi.chargeOf(userId, response.headers.get("x-request-id")!)
    expect(charge).toMatchObject({
      usage_source: "tokenizer",
      prompt_tokens: countPromptTokens(request, catalogModel("gpt-4"))
    })
    expect(charge.completion_tokens).toBeGreaterThanOrEqual(tokens(received))
    expect(charge.completion_tokens).toBeLessThan(tokens(whole))
    const cost = costOfUsage("gpt-4", charge)
    expect(usd(charge.amount)).toBe(-cost)
    const account = await slowApi.balance(userId)
    expect(account.available).toBe(account.balance)
  })
})
