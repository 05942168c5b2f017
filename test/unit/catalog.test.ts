import { Effect, Exit, Layer } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { GatewayConfig } from "../../src/Config.ts"
import type { CatalogModel } from "../../src/domain/Catalog.ts"
import { buildCatalog, builtInModels, CatalogInvalid, ModelCatalog } from "../../src/services/registry/ModelCatalog.ts"

const entry = {
  id: "m1",
  provider: "openai",
  upstream_model: "gpt-4o",
  input_price_per_1m: 2.5,
  output_price_per_1m: 10,
  max_output_tokens: 16384,
  context_window: 128000
}

const loadFile = (contents: string) => {
  const directory = mkdtempSync(join(tmpdir(), "catalog-"))
  const file = join(directory, "models.json")
  writeFileSync(file, contents)
  return Effect.runPromiseExit(
    Effect.provide(
      Effect.service(ModelCatalog),
      ModelCatalog.layer.pipe(Layer.provide(GatewayConfig.layerTest({ MODELS_FILE: file })))
    )
  )
}

describe("model catalog", () => {
  it("builds the spec's models with exact prices", () => {
    const models = buildCatalog(builtInModels, "built-in")
    if (models instanceof CatalogInvalid) throw models
    expect(models.map((model) => model.id)).toEqual(
      expect.arrayContaining(["gpt-3.5-turbo", "gpt-4", "claude-3", "gemini-1.5-pro"])
    )
    const claude = models.find((model) => model.id === "claude-3")!
    expect(claude.upstreamModel).toBe("claude-3-haiku-20240307")
    expect(claude.inputPricePerMillion).toBe(250_000_000n)
    expect(claude.outputPricePerMillion).toBe(1_250_000_000n)
  })

  it("prices cache reads and writes from the providers' published prices, else at the input price", () => {
    const models = buildCatalog(builtInModels, "built-in")
    if (models instanceof CatalogInvalid) throw models
    const prices = Object.fromEntries(
      models.map((model) => [
        model.id,
        [model.inputPricePerMillion, model.cachedInputPricePerMillion, model.cacheWritePricePerMillion]
      ])
    )
    expect(prices).toMatchObject({
      "gpt-3.5-turbo": [500_000_000n, 500_000_000n, 500_000_000n],
      "gpt-4": [30_000_000_000n, 30_000_000_000n, 30_000_000_000n],
      "gpt-4o": [2_500_000_000n, 1_250_000_000n, 2_500_000_000n],
      "gpt-5-nano": [50_000_000n, 5_000_000n, 50_000_000n],
      "claude-3": [250_000_000n, 30_000_000n, 300_000_000n],
      "gemini-1.5-pro": [1_250_000_000n, 312_500_000n, 1_250_000_000n]
    })
  })

  it("reads the cache prices of MODELS_FILE entries, exactly, and validates them like the others", () => {
    const models = buildCatalog(
      [{ ...entry, cached_input_price_per_1m: 1.25, cache_write_price_per_1m: 3.125 }],
      "models.json"
    )
    if (models instanceof CatalogInvalid) throw models
    expect(models[0]).toMatchObject({
      inputPricePerMillion: 2_500_000_000n,
      cachedInputPricePerMillion: 1_250_000_000n,
      cacheWritePricePerMillion: 3_125_000_000n
    })
    const result = buildCatalog(
      [
        { ...entry, id: "neg", cached_input_price_per_1m: -0.5 },
        { ...entry, id: "fine", cache_write_price_per_1m: 0.0000000001 },
        { ...entry, id: "text", cache_write_price_per_1m: "3" },
        { ...entry, id: "huge", output_price_per_1m: 1e7 },
        { ...entry, id: "budget", max_output_tokens: 2 ** 31 }
      ],
      "models.json"
    ) as CatalogInvalid
    expect(result).toBeInstanceOf(CatalogInvalid)
    expect(result.problems.join("\n")).toMatch(/\("neg"\): cached_input_price_per_1m/)
    expect(result.problems.join("\n")).toMatch(/\("fine"\): prices may have at most 9 decimal places/)
    expect(result.problems.join("\n")).toMatch(/\("text"\): cache_write_price_per_1m/)
    expect(result.problems.join("\n")).toMatch(/\("huge"\): output_price_per_1m/)
    expect(result.problems.join("\n")).toMatch(/\("budget"\): max_output_tokens/)
  })

  it("a provider named google, Gemini's name before gemini, is read as gemini; owned_by defaults to the company", () => {
    const models = buildCatalog(
      [
        { ...entry, id: "g1", provider: "google", upstream_model: "gemini-2.5-flash" },
        { ...entry, id: "g2", provider: "gemini", upstream_model: "gemini-2.5-flash" },
        { ...entry, id: "o1" }
      ],
      "models.json"
    ) as ReadonlyArray<CatalogModel>
    expect(models.map((model) => [model.provider, model.ownedBy])).toEqual([
      ["gemini", "google"],
      ["gemini", "google"],
      ["openai", "openai"]
    ])
  })

  it("names the bad entry", () => {
    const result = buildCatalog([entry, { ...entry, id: "m2", provider: "azure" }], "models.json") as CatalogInvalid
    expect(result).toBeInstanceOf(CatalogInvalid)
    expect(result.problems).toEqual([expect.stringMatching(/^models.json models\[1\] \("m2"\): provider: Expected/)])
  })

  it("rejects duplicates, dangling fallbacks, negative prices and too many decimals", () => {
    const result = buildCatalog(
      [
        { ...entry, fallbacks: ["nope"] },
        entry,
        { ...entry, id: "neg", input_price_per_1m: -1 },
        { ...entry, id: "fine", output_price_per_1m: 0.0000000001 }
      ],
      "models.json"
    ) as CatalogInvalid
    expect(result.problems).toHaveLength(4)
    expect(result.problems.join("\n")).toMatch(/appears twice/)
    expect(result.problems.join("\n")).toMatch(/fallback "nope"/)
    expect(result.problems.join("\n")).toMatch(/\("neg"\): input_price_per_1m/)
    expect(result.problems.join("\n")).toMatch(/\("fine"\): prices may have at most 9 decimal places/)
  })

  it("loads MODELS_FILE and stops start-up on a bad one", async () => {
    const good = await loadFile(JSON.stringify({ models: [entry, { ...entry, id: "m2", fallbacks: ["m1"] }] }))
    expect(Exit.isSuccess(good) && good.value.find("m2")?.fallbacks).toEqual(["m1"])
    const broken = await loadFile("{ not json")
    expect(Exit.isFailure(broken) && String(Exit.isFailure(broken) ? broken.cause : "")).toMatch(/MODELS_FILE/)
    const empty = await loadFile(JSON.stringify({ models: [] }))
    expect(Exit.isFailure(empty)).toBe(true)
  })
})
