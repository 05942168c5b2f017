/**
 * The arithmetic of billing a chat request, pure so that it is tested without a database:
 * the worst case a hold must cover, the counts a request is charged for (from the best
 * evidence there is), and what they cost. Charges are always usage × the catalog prices of the
 * model that answered, whoever the provider. The policy these functions implement is the
 * table in docs/billing.md.
 */
import * as Result from "effect/Result"
import type { CatalogModel } from "../../domain/Catalog.ts"
import type { ChatCompletion, ChatCompletionRequest, Usage } from "../../domain/Chat.ts"
import * as Money from "../../domain/Money.ts"
import { countPromptTokens, countTextTokens, promptUpperBound, type PromptUnbounded } from "../../domain/Tokens.ts"

/** What to reserve for one request before calling upstream. */
export interface Reservation {
  readonly userId: string
  readonly requestId: string
  /** The model the client asked for; the hold is recorded under it. */
  readonly model: CatalogModel
  /** A ceiling on the prompt's tokens. */
  readonly promptTokens: number
  /** The prompt at the highest price any of its tokens may cost with the models that may answer. */
  readonly promptCost: Money.Nanos
  /** The highest output price of the models that may answer, per million tokens. */
  readonly outputPricePerMillion: Money.Nanos
  /** Completions generated at once (`n`): each may use up to `maxTokens`. */
  readonly choices: number
  /** The completion budget asked for; the reservation clamps it to what the balance pays for. */
  readonly maxTokens: number
}

const max = (a: Money.Nanos, b: Money.Nanos) => (a > b ? a : b)

/** The most one prompt token can cost with a model: a cache write may cost more than plain input. */
const dearestInputPrice = (model: CatalogModel) =>
  max(max(model.inputPricePerMillion, model.cachedInputPricePerMillion), model.cacheWritePricePerMillion)

/**
 * The reservation of a request that `candidates` may answer (the model and its fallbacks):
 * priced at the most expensive of them, so that the hold covers whichever answers.
 */
export const reservationFor = (input: {
  readonly userId: string
  readonly requestId: string
  readonly request: ChatCompletionRequest
  readonly model: CatalogModel
  readonly candidates: ReadonlyArray<CatalogModel>
  readonly maxTokens: number
}): Result.Result<Reservation, PromptUnbounded> => {
  let inputPrice = dearestInputPrice(input.model)
  let outputPrice = input.model.outputPricePerMillion
  for (const candidate of input.candidates) {
    inputPrice = max(inputPrice, dearestInputPrice(candidate))
    outputPrice = max(outputPrice, candidate.outputPricePerMillion)
  }
  return Result.map(promptUpperBound(input.request, [input.model, ...input.candidates]), (promptTokens) => ({
    userId: input.userId,
    requestId: input.requestId,
    model: input.model,
    promptTokens,
    promptCost: Money.costOf(promptTokens, inputPrice),
    outputPricePerMillion: outputPrice,
    choices: input.request.n ?? 1,
    maxTokens: input.maxTokens
  }))
}

/** The least a request can cost: its prompt and one token per choice. */
export const minimumCost = (reservation: Reservation): Money.Nanos =>
  reservation.promptCost + Money.costOf(reservation.choices, reservation.outputPricePerMillion)

/**
 * Where a charge's counts came from: the provider's final usage; the provider's counts so far
 * completed by the tokenizer (a stream cut mid-way); or the gateway's own tokenizer.
 */
export type UsageSource = "provider" | "partial" | "tokenizer"

/** The counts a request is charged for. Cached and cache-write tokens are part of the prompt, reasoning of the completion. */
export interface MeteredUsage {
  readonly promptTokens: number
  readonly cachedTokens: number
  readonly cacheWriteTokens: number
  readonly completionTokens: number
  readonly reasoningTokens: number
}

/** How a request ended, for billing: with usage to charge, or with nothing to charge. */
export type Outcome =
  | { readonly _tag: "Release" }
  | ({
      readonly _tag: "Charge"
      /** The model that answered: its prices apply. */
      readonly model: CatalogModel
      readonly source: UsageSource
    } & MeteredUsage)

export type ChargeOutcome = Extract<Outcome, { _tag: "Charge" }>

export const release: Outcome = { _tag: "Release" }

/** A token count as the ledger can hold it: a non-negative safe integer, whatever was reported. */
export const tokenCount = (value: number | undefined): number =>
  value === undefined || !Number.isFinite(value) ? 0 : Math.min(Math.max(0, Math.trunc(value)), Number.MAX_SAFE_INTEGER)

/** Counts whose parts add up: cached plus cache writes never exceed the prompt, reasoning never the completion. */
const meteredUsage = (counts: {
  readonly promptTokens: number
  readonly cachedTokens?: number
  readonly cacheWriteTokens?: number
  readonly completionTokens: number
  readonly reasoningTokens?: number
}): MeteredUsage => {
  const promptTokens = tokenCount(counts.promptTokens)
  const cachedTokens = Math.min(tokenCount(counts.cachedTokens), promptTokens)
  const completionTokens = tokenCount(counts.completionTokens)
  return {
    promptTokens,
    cachedTokens,
    cacheWriteTokens: Math.min(tokenCount(counts.cacheWriteTokens), promptTokens - cachedTokens),
    completionTokens,
    reasoningTokens: Math.min(tokenCount(counts.reasoningTokens), completionTokens)
  }
}

/** The unit prices a charge applies, per million tokens. */
export interface Prices {
  readonly input: Money.Nanos
  readonly cachedInput: Money.Nanos
  readonly cacheWrite: Money.Nanos
  readonly output: Money.Nanos
}

export const pricesOf = (model: CatalogModel): Prices => ({
  input: model.inputPricePerMillion,
  cachedInput: model.cachedInputPricePerMillion,
  cacheWrite: model.cacheWritePricePerMillion,
  output: model.outputPricePerMillion
})

/**
 * The cost of a usage at a model's catalog prices: uncached prompt × input + cached × cached
 * input + cache writes × cache write + completion (reasoning included) × output, each part
 * rounded up to the nano-dollar.
 */
export const costOfUsage = (
  model: CatalogModel,
  counts: {
    readonly promptTokens: number
    readonly cachedTokens?: number
    readonly cacheWriteTokens?: number
    readonly completionTokens: number
  }
): Money.Nanos => {
  const usage = meteredUsage(counts)
  const prices = pricesOf(model)
  return (
    Money.costOf(usage.promptTokens - usage.cachedTokens - usage.cacheWriteTokens, prices.input) +
    Money.costOf(usage.cachedTokens, prices.cachedInput) +
    Money.costOf(usage.cacheWriteTokens, prices.cacheWrite) +
    Money.costOf(usage.completionTokens, prices.output)
  )
}

/** Everything a ledger charge records about itself. */
export interface Charge extends MeteredUsage {
  readonly model: string
  readonly cost: Money.Nanos
  readonly prices: Prices
  readonly source: UsageSource
}

export const chargeOf = (outcome: ChargeOutcome): Charge => ({
  model: outcome.model.id,
  cost: costOfUsage(outcome.model, outcome),
  prices: pricesOf(outcome.model),
  source: outcome.source,
  promptTokens: outcome.promptTokens,
  cachedTokens: outcome.cachedTokens,
  cacheWriteTokens: outcome.cacheWriteTokens,
  completionTokens: outcome.completionTokens,
  reasoningTokens: outcome.reasoningTokens
})

/** A charge of these counts at `model`'s prices, its parts made to add up. */
export const charge = (
  model: CatalogModel,
  source: UsageSource,
  counts: Parameters<typeof meteredUsage>[0]
): ChargeOutcome => ({ _tag: "Charge", model, source, ...meteredUsage(counts) })

/** The provider's usage in the gateway's terms. */
export const usageCounts = (usage: Usage) => ({
  promptTokens: usage.prompt_tokens,
  cachedTokens: usage.prompt_tokens_details?.cached_tokens,
  cacheWriteTokens: usage.prompt_tokens_details?.cache_write_tokens,
  completionTokens: usage.completion_tokens,
  reasoningTokens: usage.completion_tokens_details?.reasoning_tokens
})

/** The gateway's own count: the prompt and `completionText` as `model` would bill them. */
export const tokenizerCharge = (
  request: ChatCompletionRequest,
  model: CatalogModel,
  completionText: string
): ChargeOutcome =>
  charge(model, "tokenizer", {
    promptTokens: countPromptTokens(request, model),
    completionTokens: countTextTokens(completionText, model)
  })

/** What a client sees of an answer, as the provider counted it for the bill: text, refusals and tool calls. */
export const answerText = (completion: ChatCompletion): string => {
  let text = ""
  for (const { message } of completion.choices) {
    text += (message.content ?? "") + (message.refusal ?? "")
    for (const call of message.tool_calls ?? []) text += call.function.name + call.function.arguments
  }
  return text
}

/** The provider's final usage. */
export const providerCharge = (model: CatalogModel, usage: Usage): ChargeOutcome =>
  charge(model, "provider", usageCounts(usage))

/** A plain completion: the provider's usage, else the tokenizer's count of the prompt and the answer. */
export const outcomeOfCompletion = (
  request: ChatCompletionRequest,
  completion: ChatCompletion,
  answeredBy: CatalogModel
): Outcome =>
  completion.usage === undefined
    ? tokenizerCharge(request, answeredBy, answerText(completion))
    : providerCharge(answeredBy, completion.usage)

/**
 * What was metered of a stream: the prompt (and its cache parts) as the provider reported it,
 * else by the tokenizer; the completion as the larger of the provider's count so far and
 * `streamed`, the tokenizer's count of what was streamed.
 */
export const partialCharge = (
  request: ChatCompletionRequest,
  model: CatalogModel,
  usage: Usage | undefined,
  streamed: number
): ChargeOutcome => {
  if (usage === undefined) {
    return charge(model, "tokenizer", { promptTokens: countPromptTokens(request, model), completionTokens: streamed })
  }
  const counts = usageCounts(usage)
  return charge(model, "partial", {
    ...counts,
    // A usage report without the prompt yet (some providers send it only at the end) leaves it to the tokenizer.
    promptTokens: tokenCount(counts.promptTokens) > 0 ? counts.promptTokens : countPromptTokens(request, model),
    completionTokens: Math.max(tokenCount(counts.completionTokens), streamed)
  })
}
