/**
 * Conformance: the official `openai` SDK's `embeddings.create` against the gateway, served by the
 * fake OpenAI (`/v1/embeddings`) and the fake Gemini (`batchEmbedContents`). Both encodings — the
 * SDK asks for base64 when the caller names no `encoding_format`, and decodes it to floats — string
 * and array inputs, `dimensions`, what each upstream received, and what the ledger charged.
 */
import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { CatalogModel } from "../../src/domain/Catalog.ts"
import { countTextTokens } from "../../src/domain/Tokens.ts"
import { buildCatalog, builtInEmbeddingModels } from "../../src/services/registry/ModelCatalog.ts"
import { fakeVector } from "../fakes/embeddings.ts"
import { client as billingClient, usd } from "../support/billingClient.ts"
import { authHeaders, token } from "../support/gateway.ts"
import { handCost } from "../support/handCost.ts"
import { type Conformance, quickRetries, resetAll, startConformance } from "./support.ts"

let setup: Conformance
beforeAll(async () => {
  setup = await startConformance(quickRetries)
})
afterAll(() => setup.close())
beforeEach(() => resetAll(setup.upstreams))

const catalog = buildCatalog(builtInEmbeddingModels, "built-in") as ReadonlyArray<CatalogModel>
const entryOf = (id: string) => builtInEmbeddingModels.find((entry) => entry.id === id)!

const embeddingModels = [
  { model: "text-embedding-3-small", vendor: "openai", size: 1536 },
  { model: "gemini-embedding-001", vendor: "gemini", size: 3072 }
] as const

const norm = (vector: ReadonlyArray<number>) => Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0))

const failureOf = (run: () => Promise<unknown>) =>
  run().then(
    () => {
      throw new Error("expected the call to fail")
    },
    (error: unknown) => error as InstanceType<typeof OpenAI.APIError>
  )

let users = 0
const sdkFor = async (label: string) => {
  const userId = `${label}-${++users}-${Math.random().toString(36).slice(2, 8)}`
  return {
    userId,
    sdk: new OpenAI({ baseURL: `${setup.gateway.url}/v1`, apiKey: await token(userId), maxRetries: 0 })
  }
}

describe.each(embeddingModels)("$model through the gateway", ({ model, vendor, size }) => {
  const fake = () => setup.upstreams[vendor]
  const received = () => fake().received.at(-1)!
  /** The vector the fake makes for a text at the model's full size (unit length, exact in float32). */
  const expectedVector = (text: string) => fakeVector(`${model}:${text}`, size)

  it("answers the SDK's default request (base64, decoded by the SDK) with the upstream's vectors", async () => {
    const { data, response } = await setup.client.embeddings
      .create({ model, input: "The quick brown fox" })
      .withResponse()
    expect(response.headers.get("x-gateway-provider")).toBe(vendor)
    expect(response.headers.get("x-gateway-model")).toBe(model)
    expect(data).toMatchObject({ object: "list", model })
    expect(data.data).toHaveLength(1)
    expect(data.data[0]).toMatchObject({ object: "embedding", index: 0 })
    // The SDK decoded the gateway's base64 into floats: exactly the float32 values the upstream sent.
    expect(data.data[0]!.embedding).toEqual(expectedVector("The quick brown fox"))
    expect(data.usage.total_tokens).toBe(data.usage.prompt_tokens)
    expect(data.usage.prompt_tokens).toBeGreaterThan(0)
    const body = received().body
    if (vendor === "openai") {
      expect(received().path).toBe("/v1/embeddings")
      expect(body).toEqual({
        model,
        input: ["The quick brown fox"],
        encoding_format: "float",
        user: expect.stringMatching(/^user_/)
      })
      expect(data.usage.prompt_tokens).toBe(4)
    } else {
      expect(received().path).toBe(`/v1beta/models/${model}:batchEmbedContents`)
      expect(received().headers["x-goog-api-key"]).toBeDefined()
      expect(body).toEqual({
        requests: [{ model: `models/${model}`, content: { parts: [{ text: "The quick brown fox" }] } }]
      })
      // Gemini reports no usage: the gateway's tokenizer counts the input.
      expect(data.usage.prompt_tokens).toBe(
        countTextTokens(
          "The quick brown fox",
          catalog.find((m) => m.id === model)!
        )
      )
    }
  })

  it("answers encoding_format float with the floats themselves", async () => {
    const response = await setup.client.embeddings.create({ model, input: "float please", encoding_format: "float" })
    expect(response.data[0]!.embedding).toEqual(expectedVector("float please"))
  })

  it("answers encoding_format base64 with little-endian float32 bytes, as OpenAI encodes them", async () => {
    const response = await setup.client.embeddings.create({ model, input: "bytes please", encoding_format: "base64" })
    const encoded = response.data[0]!.embedding as unknown as string
    expect(typeof encoded).toBe("string")
    const bytes = Buffer.from(encoded, "base64")
    expect(bytes.length).toBe(size * 4)
    const decoded = Array.from({ length: size }, (_, index) => bytes.readFloatLE(index * 4))
    expect(decoded).toEqual(expectedVector("bytes please"))
  })

  it("embeds an array of strings in one upstream call, each vector at its index", async () => {
    const texts = ["first text", "second one here", "третий"]
    const response = await setup.client.embeddings.create({ model, input: texts })
    expect(response.data.map((item) => item.index)).toEqual([0, 1, 2])
    response.data.forEach((item, index) => expect(item.embedding).toEqual(expectedVector(texts[index]!)))
    expect(fake().received).toHaveLength(1)
    if (vendor === "gemini") expect(received().body.requests).toHaveLength(3)
  })

  it("shortens vectors to `dimensions`, at unit length", async () => {
    const response = await setup.client.embeddings.create({ model, input: "short", dimensions: 256 })
    const vector = response.data[0]!.embedding
    expect(vector).toHaveLength(256)
    expect(norm(vector)).toBeCloseTo(1, 5)
    if (vendor === "openai") expect(received().body.dimensions).toBe(256)
    else expect(received().body.requests[0].outputDimensionality).toBe(256)
  })

  it("refuses dimensions beyond the model's vectors before any upstream call", async () => {
    const error = await failureOf(() => setup.client.embeddings.create({ model, input: "x", dimensions: size + 1 }))
    expect(error.status).toBe(400)
    expect(error.error).toMatchObject({ type: "validation_error", param: "dimensions" })
    expect(fake().received).toHaveLength(0)
  })

  it("charges exactly usage × the catalog's input price, and the balance drops by it", async () => {
    const { userId, sdk } = await sdkFor("embed-cost")
    const billing = billingClient(setup.gateway.url)
    const before = await billing.balance(userId)
    const input = Array.from({ length: 3 }, (_, index) => `document ${index} ${"lorem ipsum ".repeat(200)}`)
    const { data, response } = await sdk.embeddings.create({ model, input, encoding_format: "float" }).withResponse()
    const cost = handCost(
      { input: entryOf(model).input_price_per_1m, output: 0 },
      { promptTokens: data.usage.prompt_tokens, completionTokens: 0 }
    )
    expect(cost).toBeGreaterThan(0n)
    expect(usd(response.headers.get("x-request-cost")!)).toBe(cost)
    expect(await billing.balance(userId)).toEqual({ balance: before.balance - cost, available: before.balance - cost })
    const { body } = await billing.transactions(userId)
    expect(body.transactions[0]).toMatchObject({ model, prompt_tokens: data.usage.prompt_tokens, completion_tokens: 0 })
  })
})

describe("embeddings and the balance", () => {
  it("refuses with 402 when the inputs' bound is not affordable, naming only the prompt (no output is priced)", async () => {
    const { userId, sdk } = await sdkFor("embed-poor")
    const billing = billingClient(setup.gateway.url)
    await billing.setBalance(userId, "0.000000001")
    const rowsBefore = (await billing.transactions(userId)).body.total
    const error = await failureOf(() =>
      sdk.embeddings.create({ model: "text-embedding-3-small", input: "x ".repeat(500) })
    )
    expect(error).toMatchObject({ status: 402 })
    expect(String((error as { message?: unknown }).message)).toMatch(
      /needs at least \$[\d.]+ \(a prompt of up to \d+ tokens with text-embedding-3-small\)/
    )
    expect((await billing.transactions(userId)).body.total).toBe(rowsBefore)
  })
})

describe("embeddings and the upstream's failures", () => {
  const model = "text-embedding-3-small"
  const price = entryOf(model).input_price_per_1m

  it("retries an upstream 503 and answers, charged once", async () => {
    const { userId, sdk } = await sdkFor("embed-retry")
    const billing = billingClient(setup.gateway.url)
    const before = await billing.balance(userId)
    setup.upstreams.openai.script({ kind: "error", status: 503, message: "Overloaded" })
    const response = await sdk.embeddings.create({ model, input: "try again", encoding_format: "float" })
    expect(setup.upstreams.openai.received).toHaveLength(2)
    expect(response.data[0]!.embedding).toHaveLength(1536)
    const cost = handCost(
      { input: price, output: 0 },
      { promptTokens: response.usage.prompt_tokens, completionTokens: 0 }
    )
    expect((await billing.balance(userId)).balance).toBe(before.balance - cost)
  })

  it("answers 502 after one call when the upstream's answer cannot be read, and bills the tokenizer's count", async () => {
    const { userId, sdk } = await sdkFor("embed-unreadable")
    const billing = billingClient(setup.gateway.url)
    const before = await billing.balance(userId)
    setup.upstreams.openai.script({ kind: "raw", status: 200, body: '{"data": "not vectors"}' })
    const error = await failureOf(() => sdk.embeddings.create({ model, input: "lost answer words" }))
    expect(error.status).toBe(502)
    expect(error.error).toMatchObject({ type: "upstream_error" })
    expect(setup.upstreams.openai.received).toHaveLength(1)
    const counted = countTextTokens(
      "lost answer words",
      catalog.find((entry) => entry.id === model)!
    )
    const cost = handCost({ input: price, output: 0 }, { promptTokens: counted, completionTokens: 0 })
    expect((await billing.balance(userId)).balance).toBe(before.balance - cost)
  })

  it("passes the upstream's refusal on as a client error, charging nothing", async () => {
    const { userId, sdk } = await sdkFor("embed-refused")
    const billing = billingClient(setup.gateway.url)
    const before = await billing.balance(userId)
    setup.upstreams.openai.script({
      kind: "error",
      status: 400,
      message: "This model's maximum context length is 8192"
    })
    const error = await failureOf(() => sdk.embeddings.create({ model, input: "too long, says the upstream" }))
    expect(error.status).toBe(400)
    expect(setup.upstreams.openai.received).toHaveLength(1)
    expect(await billing.balance(userId)).toEqual(before)
  })
})

describe("embeddings with an Idempotency-Key", () => {
  it("answers a repeat with the stored answer, sent upstream and charged once", async () => {
    const { userId, sdk } = await sdkFor("embed-idempotent")
    const billing = billingClient(setup.gateway.url)
    const before = await billing.balance(userId)
    const key = `key-${crypto.randomUUID()}`
    const create = () =>
      sdk.embeddings
        .create(
          { model: "text-embedding-3-small", input: "once only", encoding_format: "float" },
          { headers: { "Idempotency-Key": key } }
        )
        .withResponse()
    const first = await create()
    const again = await create()
    expect(again.response.headers.get("idempotent-replayed")).toBe("true")
    expect(again.data).toEqual(first.data)
    expect(setup.upstreams.openai.received).toHaveLength(1)
    const cost = usd(first.response.headers.get("x-request-cost")!)
    expect(cost).toBeGreaterThan(0n)
    expect((await billing.balance(userId)).balance).toBe(before.balance - cost)
  })
})

describe("embeddings and the catalog", () => {
  it("passes token arrays to OpenAI as sent, billed for exactly their length", async () => {
    const response = await setup.client.embeddings.create({
      model: "text-embedding-3-small",
      input: [
        [101, 2023, 2003],
        [7, 8]
      ],
      encoding_format: "float"
    })
    expect(setup.upstreams.openai.received.at(-1)!.body.input).toEqual([
      [101, 2023, 2003],
      [7, 8]
    ])
    expect(response.data).toHaveLength(2)
    expect(response.usage.prompt_tokens).toBe(5)
  })

  it("refuses token arrays for Gemini, which embeds text only", async () => {
    const error = await failureOf(() =>
      setup.client.embeddings.create({ model: "gemini-embedding-001", input: [1, 2, 3] })
    )
    expect(error.status).toBe(400)
    expect(error.error).toMatchObject({ type: "validation_error", param: "input" })
    expect(setup.upstreams.gemini.received).toHaveLength(0)
  })

  it("refuses a chat model on the embeddings route, naming model", async () => {
    const error = await failureOf(() => setup.client.embeddings.create({ model: "gpt-4", input: "hello" }))
    expect(error.status).toBe(400)
    expect(error.error).toMatchObject({ type: "validation_error", param: "model" })
    expect(error.message).toMatch(/chat model/)
    expect(setup.upstreams.openai.received).toHaveLength(0)
  })

  it("refuses an embedding model on the chat route, naming model", async () => {
    const error = await failureOf(() =>
      setup.client.chat.completions.create({
        model: "text-embedding-3-small",
        messages: [{ role: "user", content: "hi" }]
      })
    )
    expect(error.status).toBe(400)
    expect(error.error).toMatchObject({ type: "validation_error", param: "model" })
    expect(error.message).toMatch(/embedding model/)
    expect(setup.upstreams.openai.received).toHaveLength(0)
  })

  it("refuses an empty input as OpenAI does, naming input", async () => {
    for (const input of ["", [], ["a", ""]]) {
      const error = await failureOf(() =>
        setup.client.embeddings.create({ model: "text-embedding-3-small", input: input as Array<string> })
      )
      expect(error.status).toBe(400)
      expect(error.error).toMatchObject({ type: "validation_error", param: "input" })
    }
    expect(setup.upstreams.openai.received).toHaveLength(0)
  })

  it("lists the embedding models beside the chat models", async () => {
    const response = await fetch(`${setup.gateway.url}/v1/models`, { headers: await authHeaders("lister") })
    const ids = ((await response.json()) as Array<{ id: string }>).map((model) => model.id)
    expect(ids).toEqual(expect.arrayContaining(["gpt-4", "text-embedding-3-small", "gemini-embedding-001"]))
  })
})
