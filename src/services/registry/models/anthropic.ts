/**
 * Anthropic's models in the built-in catalog, at the published prices in USD per million tokens
 * (https://platform.claude.com/docs/en/about-claude/pricing). Cache writes are priced for the default
 * 5-minute cache; the gateway never asks for the 1-hour one.
 */
import type { CatalogEntryJson } from "../../../domain/Catalog.ts"

export const anthropicModels: ReadonlyArray<CatalogEntryJson> = [
  {
    id: "claude-3",
    provider: "anthropic",
    upstream_model: "claude-3-haiku-20240307",
    owned_by: "anthropic",
    input_price_per_1m: 0.25,
    cached_input_price_per_1m: 0.03,
    cache_write_price_per_1m: 0.3,
    output_price_per_1m: 1.25,
    max_output_tokens: 4096,
    context_window: 200000
  }
]
