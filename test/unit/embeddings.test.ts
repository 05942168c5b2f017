/**
 * The pure parts of embeddings: the catalog's embedding entries, reading `input`, the token ceiling
 * and count a hold and a settle use, the simulator's vectors, base64 as OpenAI encodes it, and the
 * OpenAI and Gemini translations.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import type { CatalogModel } from "../../src/domain/Catalog.ts"
import { base64Vector, embeddingInputsOf, type EmbeddingInputs } from "../../src/domain/Embeddings.ts"
import { countEmbeddingInput, countTextTokens, embeddingInputCeiling } from "../../src/domain/Tokens.ts"
import { fromBatchEmbedAnswer, toBatchEmbedRequest } from "../../src/providers/gemini/embeddings.ts"
import { fromOpenAIEmbeddings, toOpenAIEmbeddingRequest } from "../../src/providers/openai/embeddings.ts"
import type { EmbeddingProviderRequest } from "../../src/providers/Provider.ts"
import { makeSimulator } from "../../src/providers/simulator/Simulator.ts"
import { embeddingCharge, embeddingReservation } from "../../src/services/billing/EmbeddingMetering.ts"
import {
  buildCatalog,
  builtInEmbeddingModels,
  builtInModels,
  CatalogInvalid
} from "../../src/services/registry/ModelCatalog.ts"

const catalog = buildCatalog([...builtInModels, ...builtInEmbeddingModels], "built-in") as ReadonlyArray<CatalogModel>
const small = catalog.find((model) => model.id === "text-embedding-3-small")!
const gemini = catalog.find((model) => model.id === "gemini-embedding-001")!
const texts = (...values: Array<string>): EmbeddingInputs => ({ _tag: "Texts", texts: values })
const request = (inputs: EmbeddingInputs, model = small, dimensions?: number): EmbeddingProviderRequest => ({
  inputs,
  model,
  dimensions,
  user: undefined,
  requestId: "req_1"
})
const problemsOf = (entries: ReadonlyArray<unknown>) => {
  const result = buildCatalog(entries, "models.json")
  return result instanceof CatalogInvalid ? result.problems : []
}
const embeddingEntry = {
  id: "e1",
  kind: "embedding",
  provider: "openai",
  upstream_model: "text-embedding-3-small",
  input_price_per_1m: 0.02,
  context_window: 8191,
  dimensions: 1536
}
const chatEntry = {
  id: "c1",
  provider: "openai",
  upstream_model: "gpt-4o",
  input_price_per_1m: 2.5,
  output_price_per_1m: 10,
  max_output_tokens: 16384,
  context_window: 128000
}

describe("the catalog's kinds", () => {
  it("reads an entry without kind as a chat model, and an embedding entry with its price, limit and size", () => {
    const models = buildCatalog([chatEntry, embeddingEntry], "models.json") as ReadonlyArray<CatalogModel>
    assert.strictEqual(models[0]!.kind, "chat")
    assert.deepInclude(models[1]!, {
      kind: "embedding",
      inputPricePerMillion: 20_000_000n,
      outputPricePerMillion: 0n,
      contextWindow: 8191,
      dimensions: 1536
    })
  })

  it("builds the built-in embedding models at their published prices", () => {
    assert.deepStrictEqual(
      catalog.filter((model) => model.kind === "embedding").map((model) => [model.id, model.inputPricePerMillion]),
      [
        ["text-embedding-3-small", 20_000_000n],
        ["text-embedding-3-large", 130_000_000n],
        ["gemini-embedding-001", 150_000_000n]
      ]
    )
  })

  it("refuses an Anthropic embedding model, an embedding entry without its size, and an unknown kind", () => {
    const { dimensions: _dimensions, ...sizeless } = embeddingEntry
    assert.deepStrictEqual(problemsOf([{ ...embeddingEntry, provider: "anthropic" }, sizeless]), [
      'models.json models[0] ("e1"): kind "embedding": Anthropic has no embeddings API; use an OpenAI or Gemini embedding model',
      'models.json models[1] ("e1"): dimensions: Missing key'
    ])
    assert.match(
      problemsOf([{ ...chatEntry, kind: "image" }]).join("\n"),
      /\("c1"\): kind: Expected "chat" \| "embedding"/
    )
  })

  it("refuses a fallback of the other kind", () => {
    assert.deepStrictEqual(problemsOf([{ ...chatEntry, fallbacks: ["e1"] }, embeddingEntry]), [
      'models.json ("c1"): fallback "e1" is an embedding model, not a chat model'
    ])
  })
})

describe("reading input", () => {
  const read = (input: Parameters<typeof embeddingInputsOf>[0]) => embeddingInputsOf(input)
  it("takes a string, strings, a token array and token arrays", () => {
    assert.deepStrictEqual(read("a"), Result.succeed(texts("a")))
    assert.deepStrictEqual(read(["a", "b"]), Result.succeed(texts("a", "b")))
    assert.deepStrictEqual(read([1, 2]), Result.succeed({ _tag: "Tokens", tokens: [[1, 2]] }))
    assert.deepStrictEqual(read([[1], [2, 3]]), Result.succeed({ _tag: "Tokens", tokens: [[1], [2, 3]] }))
  })

  it("refuses empty inputs and more than 2048, naming input", () => {
    for (const [input, message] of [
      ["", "input must not be an empty string"],
      [[], "input must not be an empty array"],
      [["a", ""], "input[1] must not be an empty string"],
      [[[1], []], "input[1] must not be an empty token array"],
      [Array.from({ length: 2049 }, () => "a"), "input may hold at most 2048 inputs, not 2049"]
    ] as const) {
      const result = read(input as Parameters<typeof embeddingInputsOf>[0])
      assert.isTrue(Result.isFailure(result))
      if (Result.isFailure(result)) {
        assert.strictEqual(result.failure.message, message)
        assert.strictEqual(result.failure.param, "input")
      }
    }
  })
})

describe("tokens and billing", () => {
  it("bounds texts by their UTF-8 bytes and counts token arrays exactly, each input capped at the model's limit", () => {
    assert.strictEqual(embeddingInputCeiling(texts("héllo", "日本"), small), 6 + 6)
    assert.strictEqual(embeddingInputCeiling({ _tag: "Tokens", tokens: [[1, 2, 3], [4]] }, small), 4)
    assert.strictEqual(embeddingInputCeiling(texts("x".repeat(5000)), gemini), 2048)
    assert.strictEqual(countEmbeddingInput({ _tag: "Tokens", tokens: [[1, 2, 3], [4]] }, small), 4)
  })

  it("never counts more than the ceiling", () => {
    const strings = ["The quick brown fox", "Привет, мир! 👋", "a b c d e f g"]
    const inputs = texts(...strings)
    assert.isAtMost(countEmbeddingInput(inputs, small), embeddingInputCeiling(inputs, small))
    assert.strictEqual(
      countEmbeddingInput(inputs, small),
      strings.reduce((sum, text) => sum + countTextTokens(text, small), 0)
    )
  })

  it("holds the ceiling at the dearest candidate, with no output", () => {
    const reservation = embeddingReservation({
      userId: "u",
      requestId: "r",
      inputs: texts("x".repeat(1000)),
      model: small,
      candidates: [gemini]
    })
    // 1,000 bytes at gemini-embedding-001's $0.15 per million: 150,000 nano-dollars.
    assert.deepInclude(reservation, { promptTokens: 1000, promptCost: 150_000n, outputPricePerMillion: 0n })
  })

  it("charges the provider's count when reported, else the tokenizer's", () => {
    assert.deepInclude(embeddingCharge(texts("hello world"), small, 7), { source: "provider", promptTokens: 7 })
    assert.deepInclude(embeddingCharge(texts("hello world"), gemini, undefined), {
      source: "tokenizer",
      promptTokens: countTextTokens("hello world", gemini),
      completionTokens: 0
    })
  })
})

describe("vectors", () => {
  it("encodes base64 as little-endian float32, as OpenAI does", () => {
    const bytes = Buffer.from(base64Vector([1, -0.5, 0.1]), "base64")
    assert.deepStrictEqual([...bytes.subarray(0, 4)], [0x00, 0x00, 0x80, 0x3f])
    assert.deepStrictEqual(
      [bytes.readFloatLE(0), bytes.readFloatLE(4), bytes.readFloatLE(8)],
      [1, -0.5, Math.fround(0.1)]
    )
  })

  it.effect("simulates the same unit vectors for the same input, of the requested length", () =>
    Effect.gen(function* () {
      const simulator = makeSimulator({ chunkDelayMs: 0 })
      const first = yield* simulator.embed!(request(texts("a", "b"), small, 64))
      const again = yield* simulator.embed!(request(texts("a", "b"), small, 64))
      assert.deepStrictEqual(first, again)
      assert.strictEqual(first.vectors[0]!.length, 64)
      assert.notDeepEqual(first.vectors[0], first.vectors[1])
      const norm = Math.sqrt(first.vectors[0]!.reduce((sum, value) => sum + value * value, 0))
      assert.closeTo(norm, 1, 1e-5)
      assert.strictEqual((yield* simulator.embed!(request(texts("a")))).vectors[0]!.length, 1536)
      assert.strictEqual(first.promptTokens, countEmbeddingInput(texts("a", "b"), small))
    })
  )
})

describe("translation", () => {
  it("asks OpenAI for floats and reads its answer in index order", () => {
    assert.deepStrictEqual(toOpenAIEmbeddingRequest({ ...request(texts("a"), small, 8), user: "user_x" }), {
      model: "text-embedding-3-small",
      input: ["a"],
      encoding_format: "float",
      dimensions: 8,
      user: "user_x"
    })
    const answer = {
      data: [
        { index: 1, embedding: [2] },
        { index: 0, embedding: [1] }
      ],
      usage: { prompt_tokens: 3 }
    }
    assert.deepStrictEqual(fromOpenAIEmbeddings(answer, 2), Result.succeed({ vectors: [[1], [2]], promptTokens: 3 }))
  })

  it("refuses an OpenAI answer with too few vectors or usage that is not a token count", () => {
    const one = { data: [{ index: 0, embedding: [1] }], usage: { prompt_tokens: 3 } }
    assert.isTrue(Result.isFailure(fromOpenAIEmbeddings(one, 2)))
    assert.isTrue(Result.isFailure(fromOpenAIEmbeddings({ ...one, usage: { prompt_tokens: -1 } }, 1)))
  })

  it("sends Gemini one request per text and refuses token arrays", () => {
    assert.deepStrictEqual(
      toBatchEmbedRequest(request(texts("a", "b"), gemini, 256)),
      Result.succeed({
        requests: [
          { model: "models/gemini-embedding-001", content: { parts: [{ text: "a" }] }, outputDimensionality: 256 },
          { model: "models/gemini-embedding-001", content: { parts: [{ text: "b" }] }, outputDimensionality: 256 }
        ]
      })
    )
    const refused = toBatchEmbedRequest(request({ _tag: "Tokens", tokens: [[1]] }, gemini))
    assert.isTrue(Result.isFailure(refused) && refused.failure._tag === "Unsupported")
  })

  it("scales Gemini's shortened vectors to unit length, and reports no usage", () => {
    const answer = { embeddings: [{ values: [3, 4] }] }
    assert.deepStrictEqual(
      fromBatchEmbedAnswer(answer, request(texts("a"), gemini, 2), 1),
      Result.succeed({ vectors: [[0.6, 0.8]], promptTokens: undefined })
    )
    assert.deepStrictEqual(
      fromBatchEmbedAnswer(answer, request(texts("a"), gemini), 1),
      Result.succeed({ vectors: [[3, 4]], promptTokens: undefined })
    )
    assert.isTrue(Result.isFailure(fromBatchEmbedAnswer(answer, request(texts("a", "b"), gemini), 2)))
  })
})
