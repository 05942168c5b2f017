/**
 * OpenAI's models in the built-in catalog, at the published standard-tier prices in USD per million
 * tokens (https://developers.openai.com/api/docs/pricing), with each model's context window and
 * maximum output from its model page (https://developers.openai.com/api/docs/models/<id>).
 *
 * Reasoning models (o-series, GPT-5 family) take their budget as `max_completion_tokens` and
 * `reasoning_effort` as sent (https://developers.openai.com/api/docs/guides/reasoning). The o-series
 * and the first GPT-5 models refuse the sampling fields listed in `unsupported_parameters`
 * ("Only the default (1) value is supported" for temperature); GPT-5.4 mini and nano take
 * temperature, top_p and logprobs only at `reasoning_effort: "none"` (their default), which the
 * catalog cannot express, so OpenAI's own 400 answers the other combinations.
 *
 * Not built in: GPT-5.4 and GPT-5.5 (1.05M context), whose prompts above 272K input tokens cost
 * 2× input and 1.5× output for the whole request; the catalog has one price per token kind, so
 * such a request would be billed below its cost. `gpt-3.5-turbo` and `gpt-4` are the API's seed
 * names: OpenAI shut both down on 2026-10-23 (https://developers.openai.com/api/docs/deprecations;
 * its substitute for gpt-3.5-turbo is gpt-4.1-mini), so against OpenAI itself they now answer 404.
 */
import type { CatalogEntryJson } from "../../../domain/Catalog.ts"

const openai = { provider: "openai", owned_by: "openai" } as const

/** Fields the o-series and the first GPT-5 models refuse (https://developers.openai.com/api/docs/guides/reasoning). */
const reasoningSampling = [
  "temperature",
  "top_p",
  "presence_penalty",
  "frequency_penalty",
  "logprobs",
  "top_logprobs",
  "logit_bias"
]

const reasoningModel = { reasoning: true, thinking: { kind: "effort" } } as const

export const openaiModels: ReadonlyArray<CatalogEntryJson> = [
  // Prompt caching starts with the gpt-4o family: these two have no cached-input price.
  {
    ...openai,
    id: "gpt-3.5-turbo",
    upstream_model: "gpt-3.5-turbo",
    input_price_per_1m: 0.5,
    output_price_per_1m: 1.5,
    max_output_tokens: 4096,
    context_window: 16385
  },
  {
    ...openai,
    id: "gpt-4",
    upstream_model: "gpt-4",
    input_price_per_1m: 30,
    output_price_per_1m: 60,
    max_output_tokens: 8192,
    context_window: 8192
  },
  {
    ...openai,
    id: "gpt-4o",
    upstream_model: "gpt-4o",
    input_price_per_1m: 2.5,
    cached_input_price_per_1m: 1.25,
    output_price_per_1m: 10,
    max_output_tokens: 16384,
    context_window: 128000
  },
  {
    ...openai,
    id: "gpt-4o-mini",
    upstream_model: "gpt-4o-mini",
    input_price_per_1m: 0.15,
    cached_input_price_per_1m: 0.075,
    output_price_per_1m: 0.6,
    max_output_tokens: 16384,
    context_window: 128000
  },
  // GPT-4.1 bills long prompts at the same per-token prices.
  {
    ...openai,
    id: "gpt-4.1",
    upstream_model: "gpt-4.1",
    input_price_per_1m: 2,
    cached_input_price_per_1m: 0.5,
    output_price_per_1m: 8,
    max_output_tokens: 32768,
    context_window: 1047576
  },
  {
    ...openai,
    id: "gpt-4.1-mini",
    upstream_model: "gpt-4.1-mini",
    input_price_per_1m: 0.4,
    cached_input_price_per_1m: 0.1,
    output_price_per_1m: 1.6,
    max_output_tokens: 32768,
    context_window: 1047576
  },
  {
    ...openai,
    id: "gpt-4.1-nano",
    upstream_model: "gpt-4.1-nano",
    input_price_per_1m: 0.1,
    cached_input_price_per_1m: 0.025,
    output_price_per_1m: 0.4,
    max_output_tokens: 32768,
    context_window: 1047576
  },
  // o3 and o4-mini also refuse stop sequences.
  {
    ...openai,
    ...reasoningModel,
    id: "o3",
    upstream_model: "o3",
    input_price_per_1m: 2,
    cached_input_price_per_1m: 0.5,
    output_price_per_1m: 8,
    max_output_tokens: 100000,
    context_window: 200000,
    unsupported_parameters: [...reasoningSampling, "stop"]
  },
  {
    ...openai,
    ...reasoningModel,
    id: "o4-mini",
    upstream_model: "o4-mini",
    input_price_per_1m: 1.1,
    cached_input_price_per_1m: 0.275,
    output_price_per_1m: 4.4,
    max_output_tokens: 100000,
    context_window: 200000,
    unsupported_parameters: [...reasoningSampling, "stop"]
  },
  {
    ...openai,
    ...reasoningModel,
    id: "gpt-5",
    upstream_model: "gpt-5",
    input_price_per_1m: 1.25,
    cached_input_price_per_1m: 0.125,
    output_price_per_1m: 10,
    max_output_tokens: 128000,
    context_window: 400000,
    unsupported_parameters: reasoningSampling
  },
  {
    ...openai,
    ...reasoningModel,
    id: "gpt-5-mini",
    upstream_model: "gpt-5-mini",
    input_price_per_1m: 0.25,
    cached_input_price_per_1m: 0.025,
    output_price_per_1m: 2,
    max_output_tokens: 128000,
    context_window: 400000,
    unsupported_parameters: reasoningSampling
  },
  {
    ...openai,
    ...reasoningModel,
    id: "gpt-5-nano",
    upstream_model: "gpt-5-nano",
    input_price_per_1m: 0.05,
    cached_input_price_per_1m: 0.005,
    output_price_per_1m: 0.4,
    max_output_tokens: 128000,
    context_window: 400000,
    unsupported_parameters: reasoningSampling
  },
  {
    ...openai,
    ...reasoningModel,
    id: "gpt-5.4-mini",
    upstream_model: "gpt-5.4-mini",
    input_price_per_1m: 0.75,
    cached_input_price_per_1m: 0.075,
    output_price_per_1m: 4.5,
    max_output_tokens: 128000,
    context_window: 400000
  },
  {
    ...openai,
    ...reasoningModel,
    id: "gpt-5.4-nano",
    upstream_model: "gpt-5.4-nano",
    input_price_per_1m: 0.2,
    cached_input_price_per_1m: 0.02,
    output_price_per_1m: 1.25,
    max_output_tokens: 128000,
    context_window: 400000
  }
]
