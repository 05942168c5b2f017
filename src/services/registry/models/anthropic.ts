/**
 * Anthropic's models in the built-in catalog, at the published prices in USD per million tokens
 * (https://platform.claude.com/docs/en/about-claude/pricing). Cache writes are priced for the default
 * 5-minute cache; the gateway never asks for the 1-hour one. Ids, limits and thinking modes from the
 * models' pages (https://platform.claude.com/docs/en/about-claude/models/overview) and the per-model
 * thinking table (https://platform.claude.com/docs/en/build-with-claude/thinking-troubleshooting):
 * - Claude 4.5 think with a token budget (`thinking.budget_tokens`, at least 1,024); the budgets per
 *   `reasoning_effort` below are the gateway's choice;
 * - Claude 4.6 think adaptively, steered by `output_config.effort` (low, medium, high, max); budgets are
 *   deprecated there, refused from 4.7;
 * - Claude Opus 5 thinks unless told otherwise (hence `default`), adds the `xhigh` effort, and refuses
 *   sampling parameters except at their defaults and prefilled answers.
 * Claude 4.5 and later refuse `temperature` with `top_p`, and constrain output to a JSON schema natively
 * (https://platform.claude.com/docs/en/build-with-claude/structured-outputs); Claude 3 Haiku has the
 * forced-tool method only.
 */
import type { CatalogEntryJson, Thinking } from "../../../domain/Catalog.ts"

/** Extended thinking: a token budget per effort, kept below `max_tokens` by the translator. */
const budgets: Thinking = {
  kind: "budget",
  budgets: { none: 0, minimal: 1024, low: 2048, medium: 8192, high: 16384, xhigh: 32768 }
}

/** Adaptive thinking, off unless asked for; OpenAI's top effort is Claude 4.6's `max`. */
const adaptive46: Thinking = {
  kind: "level",
  levels: { none: "disabled", minimal: "low", low: "low", medium: "medium", high: "high", xhigh: "max" }
}

const noTemperatureWithTopP = [["temperature", "top_p"]]

interface Prices {
  readonly input: number
  readonly cacheWrite: number
  readonly cacheRead: number
  readonly output: number
}

const claude = (id: string, upstream: string, prices: Prices, limits: { output: number; context: number }) => ({
  id,
  provider: "anthropic" as const,
  upstream_model: upstream,
  owned_by: "anthropic",
  input_price_per_1m: prices.input,
  cached_input_price_per_1m: prices.cacheRead,
  cache_write_price_per_1m: prices.cacheWrite,
  output_price_per_1m: prices.output,
  max_output_tokens: limits.output,
  context_window: limits.context
})

const haikuPrices = { input: 1, cacheWrite: 1.25, cacheRead: 0.1, output: 5 }
const sonnetPrices = { input: 3, cacheWrite: 3.75, cacheRead: 0.3, output: 15 }
const opusPrices = { input: 5, cacheWrite: 6.25, cacheRead: 0.5, output: 25 }
const window200k = { output: 64000, context: 200000 }
const window1m = { output: 128000, context: 1000000 }

/** Claude 4.5: dated upstream ids (kept as aliases), thinking with a token budget, a 200k window. */
const claude45 = (id: string, upstream: string, prices: Prices) => ({
  ...claude(id, upstream, prices, window200k),
  aliases: [upstream],
  thinking: budgets,
  exclusive_parameters: noTemperatureWithTopP,
  structured_outputs: "native" as const
})

/** Claude 4.6: undated ids, adaptive thinking, a 1M window. */
const claude46 = (id: string, prices: Prices) => ({
  ...claude(id, id, prices, window1m),
  thinking: adaptive46,
  exclusive_parameters: noTemperatureWithTopP,
  structured_outputs: "native" as const
})

export const anthropicModels: ReadonlyArray<CatalogEntryJson> = [
  {
    ...claude(
      "claude-3",
      "claude-3-haiku-20240307",
      { input: 0.25, cacheWrite: 0.3, cacheRead: 0.03, output: 1.25 },
      {
        output: 4096,
        context: 200000
      }
    ),
    aliases: ["claude-3-haiku-20240307"],
    structured_outputs: "tool"
  },
  claude45("claude-haiku-4-5", "claude-haiku-4-5-20251001", haikuPrices),
  claude45("claude-sonnet-4-5", "claude-sonnet-4-5-20250929", sonnetPrices),
  claude45("claude-opus-4-5", "claude-opus-4-5-20251101", opusPrices),
  claude46("claude-sonnet-4-6", sonnetPrices),
  claude46("claude-opus-4-6", opusPrices),
  {
    ...claude("claude-opus-5", "claude-opus-5", opusPrices, window1m),
    thinking: {
      kind: "level",
      levels: { none: "disabled", minimal: "low", low: "low", medium: "medium", high: "high", xhigh: "xhigh" },
      default: "high"
    },
    unsupported_parameters: ["temperature", "top_p"],
    structured_outputs: "native"
  }
]
