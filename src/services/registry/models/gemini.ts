/**
 * Google's Gemini models in the built-in catalog, at the published prices in USD per million tokens
 * (https://ai.google.dev/gemini-api/docs/pricing, standard tier). Caches are created by a separate API
 * call, so a chat request never writes one and the cache-write price is the input price.
 *
 * Limits are the model pages' (https://ai.google.dev/gemini-api/docs/models). Thinking
 * (https://ai.google.dev/gemini-api/docs/thinking): Gemini 2.5 takes a token budget — 2.5 Pro
 * 128–32,768 and cannot turn thinking off, 2.5 Flash 0–24,576, 2.5 Flash-Lite 0 or 512–24,576 —
 * and Gemini 3 a level — 3 Flash minimal/low/medium/high, 3.1 Pro low/medium/high (it cannot turn
 * thinking off either). Gemini 2.5 and 3 refuse presence and frequency penalties ("Penalty is not
 * enabled for models/…"). Models that think are also the ones the translator sends JSON Schema
 * (`responseJsonSchema`, `parametersJsonSchema`); the others get the OpenAPI subset.
 *
 * Pro models cost more for prompts over 200k tokens (2.5 Pro: 2.50 / 15.00, cached 0.25; 3.1 Pro:
 * 4.00 / 18.00, cached 0.40). The catalog has no tiers: the prices below are those up to 200k.
 */
import type { CatalogEntryJson } from "../../../domain/Catalog.ts"

/** Penalties are refused even at 0 by Gemini 2.5 and 3; the translator drops a 0 and refuses the rest. */
const noPenalties = ["presence_penalty", "frequency_penalty"]

const gemini25Budgets = { minimal: 512, low: 1024, medium: 8192, high: 24576, xhigh: 24576 }

export const geminiModels: ReadonlyArray<CatalogEntryJson> = [
  {
    id: "gemini-1.5-pro",
    provider: "gemini",
    upstream_model: "gemini-1.5-pro",
    owned_by: "google",
    // The prices for prompts up to 128k tokens; the catalog has no tiers.
    input_price_per_1m: 1.25,
    cached_input_price_per_1m: 0.3125,
    output_price_per_1m: 5,
    max_output_tokens: 8192,
    context_window: 2097152
  },
  {
    id: "gemini-2.5-pro",
    provider: "gemini",
    upstream_model: "gemini-2.5-pro",
    owned_by: "google",
    input_price_per_1m: 1.25,
    cached_input_price_per_1m: 0.125,
    output_price_per_1m: 10,
    max_output_tokens: 65536,
    context_window: 1048576,
    // No `none`: 2.5 Pro cannot turn thinking off, so reasoning_effort "none" is refused.
    thinking: { kind: "budget", budgets: { ...gemini25Budgets, minimal: 128, xhigh: 32768 } },
    unsupported_parameters: noPenalties
  },
  {
    id: "gemini-2.5-flash",
    provider: "gemini",
    upstream_model: "gemini-2.5-flash",
    owned_by: "google",
    input_price_per_1m: 0.3,
    cached_input_price_per_1m: 0.03,
    output_price_per_1m: 2.5,
    max_output_tokens: 65536,
    context_window: 1048576,
    thinking: { kind: "budget", budgets: { none: 0, ...gemini25Budgets } },
    unsupported_parameters: noPenalties
  },
  {
    id: "gemini-2.5-flash-lite",
    provider: "gemini",
    upstream_model: "gemini-2.5-flash-lite",
    owned_by: "google",
    input_price_per_1m: 0.1,
    cached_input_price_per_1m: 0.01,
    output_price_per_1m: 0.4,
    max_output_tokens: 65536,
    context_window: 1048576,
    thinking: { kind: "budget", budgets: { none: 0, ...gemini25Budgets } },
    unsupported_parameters: noPenalties
  },
  {
    id: "gemini-3-flash-preview",
    provider: "gemini",
    upstream_model: "gemini-3-flash-preview",
    owned_by: "google",
    input_price_per_1m: 0.5,
    cached_input_price_per_1m: 0.05,
    output_price_per_1m: 3,
    max_output_tokens: 65536,
    context_window: 1048576,
    // Gemini 3 cannot turn thinking off; "minimal" is its nearest to none.
    thinking: {
      kind: "level",
      levels: { none: "minimal", minimal: "minimal", low: "low", medium: "medium", high: "high", xhigh: "high" }
    },
    unsupported_parameters: noPenalties
  },
  {
    id: "gemini-3.1-pro-preview",
    provider: "gemini",
    upstream_model: "gemini-3.1-pro-preview",
    owned_by: "google",
    input_price_per_1m: 2,
    cached_input_price_per_1m: 0.2,
    output_price_per_1m: 12,
    max_output_tokens: 65536,
    context_window: 1048576,
    // No minimal level: "minimal" runs at "low"; "none" is refused.
    thinking: { kind: "level", levels: { minimal: "low", low: "low", medium: "medium", high: "high", xhigh: "high" } },
    unsupported_parameters: noPenalties
  }
]
