/**
 * The models the gateway serves: public id (or alias) → provider, upstream model, prices,
 * limits and capabilities. Built in, or replaced as a whole by MODELS_FILE (its format:
 * docs/providers.md). A bad file stops start-up with one message naming every problem.
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { readFileSync } from "node:fs"
import { GatewayConfig } from "../../Config.ts"
import {
  CatalogEntryJson,
  CatalogFile,
  EmbeddingEntryJson,
  type CatalogModel,
  type ModelInfo,
  plainCapabilities,
  type ProviderName
} from "../../domain/Catalog.ts"
import * as Money from "../../domain/Money.ts"
import { formatPath, formatSchemaError } from "../../domain/validation.ts"
import { entryProblems, resolveNames } from "./catalogRules.ts"
import { anthropicModels } from "./models/anthropic.ts"
import { geminiModels } from "./models/gemini.ts"
import { embeddingModels } from "./models/embeddings.ts"
import { openaiModels } from "./models/openai.ts"

/** The chat models served when no MODELS_FILE is given: each provider's, in its own file with its price sources. */
export const builtInModels: ReadonlyArray<CatalogEntryJson> = [...openaiModels, ...anthropicModels, ...geminiModels]

/** The embedding models served when no MODELS_FILE is given. */
export const builtInEmbeddingModels: ReadonlyArray<EmbeddingEntryJson> = embeddingModels

/** `owned_by` when an entry names none: the company behind the provider. */
const ownerOf: Record<ProviderName, string> = {
  openai: "openai",
  anthropic: "anthropic",
  gemini: "google",
  simulator: "simulator"
}

/** The `created` timestamp the spec shows for every model. */
const defaultCreated = 1677652288

export class CatalogInvalid extends Schema.TaggedError<CatalogInvalid>()("CatalogInvalid", {
  problems: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `Invalid model catalog:\n${this.problems.map((problem) => `  - ${problem}`).join("\n")}`
  }
}

const decodeEntry = Schema.decodeUnknownExit(CatalogEntryJson, { errors: "all" })
const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** Every problem of an entry that does not decode, each naming its field. */
const decodingProblems = (error: Schema.SchemaError): Array<string> =>
  formatIssues(error.issue).issues.map(({ path, message }) => {
    const field = formatPath((path ?? []).map((segment) => (typeof segment === "object" ? segment.key : segment)))
    return field === "" ? message : `${field}: ${message}`
  })

const decodeFile = Schema.decodeUnknownExit(Schema.fromJsonString(CatalogFile))

const decodeEmbeddingEntry = Schema.decodeUnknownExit(EmbeddingEntryJson, { errors: "all" })

/** The problems of an entry that does not decode, each naming its field. */
const undecodable = (cause: Cause.Cause<Schema.SchemaError>): Array<string> => {
  const error = Cause.findErrorOption(cause)
  return error._tag === "Some" ? decodingProblems(error.value) : [formatSchemaError(cause)]
}

const isEmbeddingEntry = (raw: unknown): boolean =>
  typeof raw === "object" && raw !== null && "kind" in raw && raw.kind === "embedding"

/** A chat entry as the catalog keeps it, or its problems. */
const chatModel = (raw: unknown): CatalogModel | Array<string> => {
  const decoded = decodeEntry(raw)
  if (decoded._tag === "Failure") return undecodable(decoded.cause)
  const entry = decoded.value
  const invalid = entryProblems(entry)
  if (invalid.length > 0) return invalid
  const inputPrice = Money.fromNumber(entry.input_price_per_1m)
  const cachedInputPrice = Money.fromNumber(entry.cached_input_price_per_1m ?? entry.input_price_per_1m)
  const cacheWritePrice = Money.fromNumber(entry.cache_write_price_per_1m ?? entry.input_price_per_1m)
  const outputPrice = Money.fromNumber(entry.output_price_per_1m)
  if (
    inputPrice === undefined ||
    cachedInputPrice === undefined ||
    cacheWritePrice === undefined ||
    outputPrice === undefined
  ) {
    return [pricePrecision]
  }
  return {
    ...plainCapabilities,
    id: entry.id,
    provider: entry.provider,
    upstreamModel: entry.upstream_model,
    ownedBy: entry.owned_by ?? ownerOf[entry.provider],
    inputPricePerMillion: inputPrice,
    cachedInputPricePerMillion: cachedInputPrice,
    cacheWritePricePerMillion: cacheWritePrice,
    outputPricePerMillion: outputPrice,
    maxOutputTokens: entry.max_output_tokens,
    contextWindow: entry.context_window,
    fallbacks: entry.fallbacks ?? [],
    created: entry.created ?? defaultCreated,
    aliases: entry.aliases ?? plainCapabilities.aliases,
    reasoning: entry.reasoning ?? plainCapabilities.reasoning,
    thinking: entry.thinking ?? plainCapabilities.thinking,
    unsupportedParameters: entry.unsupported_parameters ?? plainCapabilities.unsupportedParameters,
    exclusiveParameters: entry.exclusive_parameters ?? plainCapabilities.exclusiveParameters,
    structuredOutputs: entry.structured_outputs ?? plainCapabilities.structuredOutputs
  }
}

/**
 * An embedding entry as the catalog keeps it, or its problems: input is all it is billed for, so every
 * other price is its input price (cache parts never occur) and its output price and budget are 0.
 */
const embeddingModel = (raw: unknown): CatalogModel | Array<string> => {
  const decoded = decodeEmbeddingEntry(raw)
  if (decoded._tag === "Failure") return undecodable(decoded.cause)
  const entry = decoded.value
  if (entry.provider === "anthropic") {
    return ['kind "embedding": Anthropic has no embeddings API; use an OpenAI or Gemini embedding model']
  }
  const inputPrice = Money.fromNumber(entry.input_price_per_1m)
  if (inputPrice === undefined) return [pricePrecision]
  return {
    ...plainCapabilities,
    kind: "embedding",
    id: entry.id,
    provider: entry.provider,
    upstreamModel: entry.upstream_model,
    ownedBy: entry.owned_by ?? ownerOf[entry.provider],
    inputPricePerMillion: inputPrice,
    cachedInputPricePerMillion: inputPrice,
    cacheWritePricePerMillion: inputPrice,
    outputPricePerMillion: 0n,
    maxOutputTokens: 0,
    contextWindow: entry.context_window,
    fallbacks: entry.fallbacks ?? [],
    created: entry.created ?? defaultCreated,
    aliases: entry.aliases ?? plainCapabilities.aliases,
    dimensions: entry.dimensions
  }
}

const pricePrecision = "prices may have at most 9 decimal places"

/** Validates raw catalog entries (chat, or `kind: "embedding"`); pure, so it is tested without files. */
export const buildCatalog = (
  entries: ReadonlyArray<unknown>,
  source: string
): ReadonlyArray<CatalogModel> | CatalogInvalid => {
  const problems: Array<string> = []
  const models: Array<CatalogModel> = []
  entries.forEach((raw, index) => {
    const label = `${source} models[${index}]${typeof raw === "object" && raw !== null && "id" in raw ? ` (${JSON.stringify(raw.id)})` : ""}`
    const model = isEmbeddingEntry(raw) ? embeddingModel(raw) : chatModel(raw)
    if (Array.isArray(model)) for (const problem of model) problems.push(`${label}: ${problem}`)
    else models.push(model)
  })
  problems.push(...resolveNames(models, source).problems)
  if (entries.length === 0) problems.push(`${source}: the catalog has no models`)
  return problems.length > 0 ? new CatalogInvalid({ problems }) : models
}

const readCatalogFile = (path: string): ReadonlyArray<unknown> | CatalogInvalid => {
  let text: string
  try {
    text = readFileSync(path, "utf8")
  } catch (error) {
    return new CatalogInvalid({ problems: [`MODELS_FILE ${path}: cannot be read (${(error as Error).message})`] })
  }
  const decoded = decodeFile(text)
  return decoded._tag === "Failure"
    ? new CatalogInvalid({ problems: [`MODELS_FILE ${path}: ${formatSchemaError(decoded.cause)}`] })
    : decoded.value.models
}

const permission = (model: CatalogModel) => ({
  id: "modelperm-0",
  object: "model_permission" as const,
  created: model.created,
  allow_create_engine: false,
  allow_sampling: true,
  allow_logprobs: true,
  allow_search_indices: false,
  allow_view: true,
  allow_fine_tuning: false,
  organization: "*",
  group: null,
  is_blocking: false
})

/** The spec's ModelInfo of a catalog entry, or of one of its aliases (`root` names the entry). */
export const toModelInfo = (model: CatalogModel, name: string = model.id): ModelInfo => ({
  id: name,
  object: "model",
  created: model.created,
  owned_by: model.ownedBy,
  permission: [permission(model)],
  root: model.id,
  parent: null
})

export class ModelCatalog extends Context.Service<
  ModelCatalog,
  {
    /** The entries, each once (aliases are names of an entry, not entries). */
    readonly models: ReadonlyArray<CatalogModel>
    /** The entry of a public id or alias. */
    readonly find: (name: string) => CatalogModel | undefined
    /** The spec's ModelInfo of every public name, computed once: each entry, then its aliases. */
    readonly infos: ReadonlyArray<ModelInfo>
  }
>()("gateway/ModelCatalog") {
  static readonly make = (models: ReadonlyArray<CatalogModel>): ModelCatalog["Service"] => {
    const { byName } = resolveNames(models, "catalog")
    return {
      models,
      find: (name) => byName.get(name),
      infos: models.flatMap((model) => [toModelInfo(model), ...model.aliases.map((alias) => toModelInfo(model, alias))])
    }
  }

  static readonly layer = Layer.effect(
    ModelCatalog,
    Effect.gen(function* () {
      const { catalog } = yield* GatewayConfig
      const entries =
        catalog.modelsFile === undefined
          ? [...builtInModels, ...builtInEmbeddingModels]
          : readCatalogFile(catalog.modelsFile)
      if (entries instanceof CatalogInvalid) return yield* entries
      const models = buildCatalog(entries, catalog.modelsFile ?? "built-in catalog")
      if (models instanceof CatalogInvalid) return yield* models
      return ModelCatalog.make(models)
    })
  )
}
