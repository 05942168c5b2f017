/**
 * OpenAI's models in the built-in catalog, at the published prices in USD per million tokens
 * (https://platform.openai.com/docs/pricing). gpt-4 and gpt-3.5-turbo have no cached-input price
 * (prompt caching starts with the gpt-4o family), so cached input costs the input price.
 */
import type { CatalogEntryJson } from "../../../domain/Catalog.ts"

export const openaiModels: ReadonlyArray<CatalogEntryJson> = [
  {
    id: "gpt-3.5-turbo",
    provider: "openai",
    upstream_model: "gpt-3.5-turbo",
    owned_by: "openai",
    input_price_per_1m: 0.5,
    output_price_per_1m: 1.5,
    max_output_tokens: 4096,
    context_window: 16385
  },
  {
    id: "gpt-4",
    provider: "openai",
    upstream_model: "gpt-4",
    owned_by: "openai",
    input_price_per_1m: 30,
    output_price_per_1m: 60,
    max_output_tokens: 8192,
    context_window: 8192
  }
]
