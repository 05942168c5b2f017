/**
 * Google's Gemini models in the built-in catalog, at the published prices in USD per million tokens
 * (https://ai.google.dev/gemini-api/docs/pricing). Caches are created by a separate API call, so a chat
 * request never writes one and the cache-write price is the input price.
 */
import type { CatalogEntryJson } from "../../../domain/Catalog.ts"

export const geminiModels: ReadonlyArray<CatalogEntryJson> = [
  {
    id: "gemini-1.5-pro",
    provider: "google",
    upstream_model: "gemini-1.5-pro",
    owned_by: "google",
    // The prices for prompts up to 128k tokens; the catalog has no tiers.
    input_price_per_1m: 1.25,
    cached_input_price_per_1m: 0.3125,
    output_price_per_1m: 5,
    max_output_tokens: 8192,
    context_window: 2097152
  }
]
