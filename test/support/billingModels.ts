/**
 * Catalog models for pure billing tests, priced in USD per million tokens as a catalog entry
 * would be (cached input and cache writes default to the input price, as in MODELS_FILE).
 */
import { type CatalogModel, plainCapabilities } from "../../src/domain/Catalog.ts"
import * as Money from "../../src/domain/Money.ts"

export const usd = (text: string) => Money.parse(text)!

export const testModel = (
  id: string,
  prices: {
    readonly input: string
    readonly output: string
    readonly cachedInput?: string
    readonly cacheWrite?: string
  }
): CatalogModel => ({
  id,
  provider: "simulator",
  upstreamModel: id,
  ownedBy: "test",
  inputPricePerMillion: usd(prices.input),
  cachedInputPricePerMillion: usd(prices.cachedInput ?? prices.input),
  cacheWritePricePerMillion: usd(prices.cacheWrite ?? prices.input),
  outputPricePerMillion: usd(prices.output),
  maxOutputTokens: 4096,
  contextWindow: 100_000,
  fallbacks: [],
  created: 0,
  ...plainCapabilities
})
