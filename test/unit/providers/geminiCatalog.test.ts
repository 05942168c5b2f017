/**
 * The built-in Gemini models: current ids at their published prices, the thinking style of each,
 * the penalties Gemini 2.5 and 3 refuse, and the seed's gemini-1.5-pro still served.
 */
import { describe, expect, it } from "vitest"
import { CatalogInvalid, buildCatalog } from "../../../src/services/registry/ModelCatalog.ts"
import { geminiModels } from "../../../src/services/registry/models/gemini.ts"

const catalog = buildCatalog(geminiModels, "built-in")
if (catalog instanceof CatalogInvalid) throw catalog
const find = (id: string) => catalog.find((model) => model.id === id)!

describe("built-in Gemini models", () => {
  it("offers the current models and keeps the seed's gemini-1.5-pro", () => {
    expect(catalog.map((model) => model.id)).toEqual([
      "gemini-1.5-pro",
      "gemini-2.5-pro",
      "gemini-2.5-flash",
      "gemini-2.5-flash-lite",
      "gemini-3-flash-preview",
      "gemini-3.1-pro-preview"
    ])
    expect(find("gemini-1.5-pro")).toMatchObject({ thinking: undefined, unsupportedParameters: [] })
  })

  it.each([
    ["gemini-2.5-pro", 1_250_000_000n, 125_000_000n, 10_000_000_000n],
    ["gemini-2.5-flash", 300_000_000n, 30_000_000n, 2_500_000_000n],
    ["gemini-2.5-flash-lite", 100_000_000n, 10_000_000n, 400_000_000n],
    ["gemini-3-flash-preview", 500_000_000n, 50_000_000n, 3_000_000_000n],
    ["gemini-3.1-pro-preview", 2_000_000_000n, 200_000_000n, 12_000_000_000n]
  ])("%s costs its published price per million (input, cached, output)", (id, input, cached, output) => {
    expect(find(id)).toMatchObject({
      inputPricePerMillion: input,
      cachedInputPricePerMillion: cached,
      cacheWritePricePerMillion: input,
      outputPricePerMillion: output,
      maxOutputTokens: 65536,
      contextWindow: 1048576
    })
  })

  it("Gemini 2.5 thinks by budget, Gemini 3 by level; both refuse penalties", () => {
    expect(find("gemini-2.5-pro").thinking).toMatchObject({ kind: "budget", budgets: { minimal: 128 } })
    expect(find("gemini-2.5-pro").thinking).not.toHaveProperty("budgets.none")
    expect(find("gemini-2.5-flash").thinking).toMatchObject({ kind: "budget", budgets: { none: 0, high: 24576 } })
    expect(find("gemini-3-flash-preview").thinking).toMatchObject({ kind: "level", levels: { minimal: "minimal" } })
    expect(find("gemini-3.1-pro-preview").thinking).toMatchObject({ kind: "level", levels: { minimal: "low" } })
    for (const model of catalog.filter((entry) => entry.thinking !== undefined)) {
      expect(model.unsupportedParameters).toEqual(["presence_penalty", "frequency_penalty"])
    }
  })
})
