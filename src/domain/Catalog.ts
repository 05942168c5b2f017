import * as Schema from "effect/Schema"
import type { Nanos } from "./Money.ts"

/** The providers, each by one name: metric labels, logs and `x-gateway-provider` carry it. */
export const ProviderName = Schema.Literals(["openai", "anthropic", "gemini", "simulator"])
export type ProviderName = typeof ProviderName.Type

/** A MODELS_FILE's `provider`: `google`, the name before `gemini`, is still accepted for it. */
const ProviderNameInFile = Schema.Union([ProviderName, Schema.Literal("google").transform("gemini")])

/**
 * USD per million tokens. The ceiling keeps every cost a ledger row can hold within NUMERIC(30, 9) (a
 * count of up to 2^53 tokens at this price), so that no usage can make a settle fail.
 */
export const maxPricePerMillion = 1_000_000
const Price = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: maxPricePerMillion }))

/** OpenAI's `reasoning_effort` values, the scale every provider's thinking control is mapped from. */
export const ReasoningEffort = Schema.Literals(["none", "minimal", "low", "medium", "high", "xhigh"])
export type ReasoningEffort = typeof ReasoningEffort.Type

/**
 * How a model thinks, and how `reasoning_effort` reaches it:
 * - `effort`: the provider takes OpenAI's `reasoning_effort` itself (OpenAI reasoning models);
 * - `budget`: a thinking-token budget per effort (Anthropic extended thinking, Gemini 2.5's
 *   `thinkingBudget`); 0 turns thinking off, an effort missing from the map is refused (400);
 * - `level`: a provider-named level per effort (Gemini 3's `thinkingLevel`, Anthropic's `effort`).
 * `default` is what the gateway sends when the client names no effort (omitted: nothing is sent).
 */
const perEffort = <S extends Schema.Top>(value: S) =>
  Schema.Struct({
    none: Schema.optionalKey(value),
    minimal: Schema.optionalKey(value),
    low: Schema.optionalKey(value),
    medium: Schema.optionalKey(value),
    high: Schema.optionalKey(value),
    xhigh: Schema.optionalKey(value)
  })

export const Thinking = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("effort") }),
  Schema.Struct({
    kind: Schema.Literal("budget"),
    budgets: perEffort(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
    default: Schema.optionalKey(ReasoningEffort)
  }),
  Schema.Struct({
    kind: Schema.Literal("level"),
    levels: perEffort(Schema.String.check(Schema.isNonEmpty())),
    default: Schema.optionalKey(ReasoningEffort)
  })
])
export type Thinking = typeof Thinking.Type

/** What a model does: chat completions (`/v1/chat/completions`) or embeddings (`/v1/embeddings`). */
export const ModelKind = Schema.Literals(["chat", "embedding"])
export type ModelKind = typeof ModelKind.Type

/** One chat entry of a `MODELS_FILE` (an entry without `kind` is a chat model). */
export const CatalogEntryJson = Schema.Struct({
  id: Schema.String.check(Schema.isNonEmpty()),
  /** `embedding` entries are read by `EmbeddingEntryJson` instead; omitted, the entry is a chat model. */
  kind: Schema.optionalKey(ModelKind),
  provider: ProviderNameInFile,
  upstream_model: Schema.String.check(Schema.isNonEmpty()),
  owned_by: Schema.optionalKey(Schema.String),
  input_price_per_1m: Price,
  /** Prompt tokens read from the provider's cache; the input price when omitted (no discount). */
  cached_input_price_per_1m: Schema.optionalKey(Price),
  /** Prompt tokens written to the provider's cache; the input price when omitted (no surcharge). */
  cache_write_price_per_1m: Schema.optionalKey(Price),
  /** Every output token, reasoning included. */
  output_price_per_1m: Price,
  /**
   * The most the model writes in one answer (reasoning included), from the provider's model page: the
   * completion budget of a request that names none, and the ceiling of `max_tokens`. Required: a guess
   * either cuts answers the provider would finish or refuses budgets it would take. Holds and the
   * reserve keep the budget in an integer column.
   */
  max_output_tokens: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 2_147_483_647 })).pipe(
    Schema.annotateKey({
      messageMissingKey: "Missing key: the model's maximum output tokens, from the provider's model page"
    })
  ),
  /**
   * The model's context window in tokens, from the provider's model page. Required: it bounds what a
   * prompt's files and audio can cost, so a wrong value reserves too little.
   */
  context_window: Schema.Int.check(Schema.isGreaterThan(0)).pipe(
    Schema.annotateKey({
      messageMissingKey: "Missing key: the model's context window in tokens, from the provider's model page"
    })
  ),
  fallbacks: Schema.optionalKey(Schema.Array(Schema.String)),
  created: Schema.optionalKey(Schema.Int),
  /**
   * Other public names that resolve to this entry (an older name kept working, a short name): a request
   * for an alias is served and billed as the entry, and its answer names the entry's id.
   */
  aliases: Schema.optionalKey(Schema.Array(Schema.String.check(Schema.isNonEmpty()))),
  /**
   * A reasoning model: OpenAI takes its budget as `max_completion_tokens` (never `max_tokens`), and
   * the provider fixes its sampling (list the refused fields in `unsupported_parameters`).
   */
  reasoning: Schema.optionalKey(Schema.Boolean),
  thinking: Schema.optionalKey(Thinking),
  /**
   * OpenAI request fields this model refuses. A field set to its neutral value (e.g. a penalty of 0) is
   * dropped; any other value is refused with 400 naming the field.
   */
  unsupported_parameters: Schema.optionalKey(Schema.Array(Schema.String.check(Schema.isNonEmpty()))),
  /**
   * Groups of fields the model refuses together (Claude 4.5+: `temperature` with `top_p`): when a request
   * sets several of a group, the first one set is kept and the others are dropped (a documented choice).
   */
  exclusive_parameters: Schema.optionalKey(Schema.Array(Schema.Array(Schema.String.check(Schema.isNonEmpty())))),
  /**
   * Structured outputs (`response_format` json_schema): `native` where the provider constrains output to a
   * JSON schema itself, `tool` where the gateway emulates it with a forced tool call.
   */
  structured_outputs: Schema.optionalKey(Schema.Literals(["native", "tool"]))
})
export type CatalogEntryJson = typeof CatalogEntryJson.Type

/**
 * One embedding entry of a `MODELS_FILE` (`kind: "embedding"`): input tokens are all it is billed for, and
 * `context_window` is the most tokens one input may have: no input is counted beyond it (OpenAI refuses a
 * longer one; Gemini's count is the gateway's own). Anthropic has no embeddings API: its models cannot be embedding models.
 */
export const EmbeddingEntryJson = Schema.Struct({
  id: Schema.String.check(Schema.isNonEmpty()),
  kind: Schema.Literal("embedding"),
  provider: ProviderNameInFile,
  upstream_model: Schema.String.check(Schema.isNonEmpty()),
  owned_by: Schema.optionalKey(Schema.String),
  input_price_per_1m: Price,
  /** The most tokens of one input, from the provider's model page. */
  context_window: Schema.Int.check(Schema.isGreaterThan(0)),
  /** The length of the model's vectors: the default and the largest `dimensions` a request may ask for. */
  dimensions: Schema.Int.check(Schema.isGreaterThan(0)),
  fallbacks: Schema.optionalKey(Schema.Array(Schema.String)),
  created: Schema.optionalKey(Schema.Int),
  aliases: Schema.optionalKey(Schema.Array(Schema.String.check(Schema.isNonEmpty())))
})
export type EmbeddingEntryJson = typeof EmbeddingEntryJson.Type

export const CatalogFile = Schema.Struct({ models: Schema.Array(Schema.Unknown) })

/** A resolved catalog entry, prices in nano-dollars per million tokens. */
export interface CatalogModel {
  readonly id: string
  /** Which route serves the model; the other one refuses it (400 naming `model`). */
  readonly kind: ModelKind
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
  readonly aliases: ReadonlyArray<string>
  readonly reasoning: boolean
  /** Undefined: the model does not think, and `reasoning_effort` is dropped (or refused by the translator). */
  readonly thinking: Thinking | undefined
  readonly unsupportedParameters: ReadonlyArray<string>
  readonly exclusiveParameters: ReadonlyArray<ReadonlyArray<string>>
  readonly structuredOutputs: "native" | "tool"
  /** Embedding models: the length of their vectors, the default and the most `dimensions` may ask for. */
  readonly dimensions: number | undefined
}

/** What a catalog entry that names none of the capability fields gets: an ordinary chat model. */
export const plainCapabilities: Pick<
  CatalogModel,
  | "kind"
  | "aliases"
  | "reasoning"
  | "thinking"
  | "unsupportedParameters"
  | "exclusiveParameters"
  | "structuredOutputs"
  | "dimensions"
> = {
  kind: "chat",
  aliases: [],
  reasoning: false,
  thinking: undefined,
  unsupportedParameters: [],
  exclusiveParameters: [],
  structuredOutputs: "native",
  dimensions: undefined
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
