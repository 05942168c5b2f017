/**
 * The embedding models of the built-in catalog, billed for input tokens only, at the published
 * standard prices in USD per million tokens:
 * - OpenAI (https://developers.openai.com/api/docs/pricing; limits and sizes from
 *   https://developers.openai.com/api/docs/guides/embeddings): text-embedding-3-small $0.02, 1536
 *   dimensions; text-embedding-3-large $0.13, 3072 dimensions; both take up to 8,191 tokens per input.
 * - Google (https://ai.google.dev/gemini-api/docs/pricing, standard tier; limits from
 *   https://ai.google.dev/gemini-api/docs/embeddings): gemini-embedding-001 $0.15, 3072 dimensions
 *   (128–3072 by `outputDimensionality`), up to 2,048 tokens per input.
 *
 * No fallbacks: vectors of different models live in different spaces, so one model cannot stand in for another.
 */
import type { EmbeddingEntryJson } from "../../../domain/Catalog.ts"

export const embeddingModels: ReadonlyArray<EmbeddingEntryJson> = [
  {
    id: "text-embedding-3-small",
    kind: "embedding",
    provider: "openai",
    upstream_model: "text-embedding-3-small",
    owned_by: "openai",
    input_price_per_1m: 0.02,
    context_window: 8191,
    dimensions: 1536
  },
  {
    id: "text-embedding-3-large",
    kind: "embedding",
    provider: "openai",
    upstream_model: "text-embedding-3-large",
    owned_by: "openai",
    input_price_per_1m: 0.13,
    context_window: 8191,
    dimensions: 3072
  },
  {
    id: "gemini-embedding-001",
    kind: "embedding",
    provider: "gemini",
    upstream_model: "gemini-embedding-001",
    owned_by: "google",
    input_price_per_1m: 0.15,
    context_window: 2048,
    dimensions: 3072
  }
]
