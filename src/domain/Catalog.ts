import { Schema } from "effect"
import type { Nanos } from "./Money.ts"

export const ProviderName = Schema.Literals(["openai", "anthropic", "google", "simulator"])
export type ProviderName = typeof ProviderName.Type

/**
 * USD per million tokens. The ceiling keeps every cost a ledger row can hold within NUMERIC(30, 9) (a
 * count of up to 2^53 tokens at this price), so that no usage can make a settle fail.
 */
export const maxPricePerMillion = 1_000_000
const Price = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: maxPricePerMillion }))

/** One entry of a `MODELS_FILE`. */
export const CatalogEntryJson = Schema.Struct({
  id: Schema.String.check(Schema.isNonEmpty()),
  provider: ProviderName,
  upstream_model: Schema.String.check(Schema.isNonEmpty()),
  owned_by: Schema.optionalKey(Schema.String),
  input_price_per_1m: Price,
  /** Prompt tokens read from the provider's cache; the input price when omitted (no discount). */
  cached_input_price_per_1m: Schema.optionalKey(Price),
  /** Prompt tokens written to the provider's cache; the input price when omitted (no surcharge). */
  cache_write_price_per_1m: Schema.optionalKey(Price),
  /** Every output token, reasoning included. */
  output_price_per_1m: Price,
  // Holds and the reserve keep the completion budget in an integer column.
  max_output_tokens: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 2_147_483_647 }))),
  context_window: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0))),
  fallbacks: Schema.optionalKey(Schema.Array(Schema.String)),
  created: Schema.optionalKey(Schema.Int)
})
export type CatalogEntryJson = typeof CatalogEntryJson.Type

export const CatalogFile = Schema.Struct({ models: Schema.Array(Schema.Unknown) })

/** A resolved catalog entry, prices in nano-dollars per million tokens. */
export interface CatalogModel {
  readonly id: string
  readonly provider: ProviderName
  readonly upstreamModel: string
  readonly ownedBy: string
  readonly inputPricePerMillion: Nanos
  /** Prompt tokens read from the provider's cache. */
  readonly cachedInputPricePerMillion: Nanos
  /** Prompt tokens written to the provider's cache. */
  readonly cacheWritePricePerMillion: Nanos
  /** Every output token, reasoning included. */
  readonly outputPricePerMillion: Nanos
  readonly maxOutputTokens: number
  readonly contextWindow: number
  readonly fallbacks: ReadonlyArray<string>
  readonly created: number
}

export const ModelPermission = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("model_permission"),
  created: Schema.Int,
  allow_create_engine: Schema.Boolean,
  allow_sampling: Schema.Boolean,
  allow_logprobs: Schema.Boolean,
  allow_search_indices: Schema.Boolean,
  allow_view: Schema.Boolean,
  allow_fine_tuning: Schema.Boolean,
  organization: Schema.String,
  group: Schema.NullOr(Schema.String),
  is_blocking: Schema.Boolean
})

export const ModelInfo = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("model"),
  created: Schema.Int,
  owned_by: Schema.String,
  permission: Schema.Array(ModelPermission),
  root: Schema.String,
  parent: Schema.NullOr(Schema.String)
}).annotate({ identifier: "ModelInfo" })
export type ModelInfo = typeof ModelInfo.Type

/** The spec returns a bare array; OpenAI clients expect `{object: "list", data}` (MODELS_LIST_FORMAT=openai). */
export const ModelList = Schema.Union([
  Schema.Array(ModelInfo),
  Schema.Struct({ object: Schema.Literal("list"), data: Schema.Array(ModelInfo) })
]).annotate({ identifier: "ModelList" })
export type ModelList = typeof ModelList.Type
