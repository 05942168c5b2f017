/**
 * The arithmetic of billing a chat request, pure so that it is tested without a database:
 * the worst case a hold must cover, and what to charge once the request is over. Charges
 * are always usage × the catalog prices of the model that answered, whoever the provider.
 */
import type { CatalogModel } from "../../domain/Catalog.ts"
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Usage } from "../../domain/Chat.ts"
import * as Money from "../../domain/Money.ts"
import { Result } from "effect"
import { countPromptTokens, countTextTokens, promptUpperBound, type PromptUnbounded } from "../../domain/Tokens.ts"

/** What to reserve for one request before calling upstream. */
export interface Reservation {
  readonly userId: string
  readonly requestId: string
  /** The model the client asked for; the hold is recorded under it. */
  readonly model: CatalogModel
  /** A ceiling on the prompt's tokens (UTF-8 bytes plus framing). */
  readonly promptTokens: number
  /** The prompt at the highest input price of the models that may answer. */
  readonly promptCost: Money.Nanos
  /** The highest output price of the models that may answer, per million tokens. */
  readonly outputPricePerMillion: Money.Nanos
  /** Completions generated at once (`n`): each may use up to `maxTokens`. */
  readonly choices: number
  /** The completion budget asked for; the reservation clamps it to what the balance pays for. */
  readonly maxTokens: number
}

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
  let inputPrice = input.model.inputPricePerMillion
  let outputPrice = input.model.outputPricePerMillion
  for (const candidate of input.candidates) {
    if (candidate.inputPricePerMillion > inputPrice) inputPrice = candidate.inputPricePerMillion
    if (candidate.outputPricePerMillion > outputPrice) outputPrice = candidate.outputPricePerMillion
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

export type UsageSource = "provider" | "estimated"

/** How a request ended, for billing: with usage to charge, or with nothing to charge. */
export type Outcome =
  | { readonly _tag: "Release" }
  | {
      readonly _tag: "Charge"
      /** The model that answered: its prices apply. */
      readonly model: CatalogModel
      readonly promptTokens: number
      readonly completionTokens: number
      readonly source: UsageSource
    }

export const release: Outcome = { _tag: "Release" }

/** The cost of a usage at a model's catalog prices, each part rounded up to the nano-dollar. */
export const costOfUsage = (
  model: CatalogModel,
  usage: { readonly promptTokens: number; readonly completionTokens: number }
): Money.Nanos =>
  Money.costOf(usage.promptTokens, model.inputPricePerMillion) +
  Money.costOf(usage.completionTokens, model.outputPricePerMillion)

/** The provider's own usage, charged at the prices of the model that answered. */
const providerCharge = (usage: Usage, model: CatalogModel): Outcome => ({
  _tag: "Charge",
  model,
  promptTokens: usage.prompt_tokens,
  completionTokens: usage.completion_tokens,
  source: "provider"
})

/** No usage from the provider: the prompt is estimated, the completion counted by the caller. */
const estimatedCharge = (request: ChatCompletionRequest, model: CatalogModel, completionTokens: number): Outcome => ({
  _tag: "Charge",
  model,
  promptTokens: countPromptTokens(request, model),
  completionTokens,
  source: "estimated"
})

/** A plain completion: the provider's usage, else an estimate from the prompt and the answer. */
export const outcomeOfCompletion = (
  request: ChatCompletionRequest,
  completion: ChatCompletion,
  answeredBy: CatalogModel
): Outcome => {
  if (completion.usage !== undefined) return providerCharge(completion.usage, answeredBy)
  let completionTokens = 0
  for (const choice of completion.choices) {
    completionTokens += countTextTokens(choice.message.content ?? "", answeredBy)
    if (choice.message.tool_calls !== undefined) {
      completionTokens += countTextTokens(JSON.stringify(choice.message.tool_calls), answeredBy)
    }
  }
  return estimatedCharge(request, answeredBy, completionTokens)
}

/**
 * Watches a stream's chunks as they pass, so that however the stream ends (finished, cut
 * by the client, failed upstream) it can say what to charge: the provider's final usage
 * when it arrived, else the prompt plus an estimate of the completion streamed so far.
 */
export class StreamMeter {
  private usage: ChatCompletionChunk["usage"] = undefined
  private started = false
  /** Chunks that carried completion text or tool-call arguments: each is at least one token. */
  private pieces = 0
  private characters = 0

  readonly observe = (chunk: ChatCompletionChunk): void => {
    this.started = true
    if (chunk.usage !== undefined && chunk.usage !== null) this.usage = chunk.usage
    for (const choice of chunk.choices) {
      const delta = choice.delta
      let text = (delta.content ?? "") + (delta.refusal ?? "")
      for (const call of delta.tool_calls ?? []) text += (call.function?.name ?? "") + (call.function?.arguments ?? "")
      if (text !== "") {
        this.pieces++
        this.characters += text.length
      }
    }
  }

  outcome(request: ChatCompletionRequest, answeredBy: CatalogModel): Outcome {
    if (this.usage !== undefined && this.usage !== null) return providerCharge(this.usage, answeredBy)
    if (!this.started) return release
    // One token per piece is exact for providers that stream token by token; the text
    // estimate takes over when pieces are longer (several tokens per delta).
    return estimatedCharge(request, answeredBy, Math.max(this.pieces, Math.ceil(this.characters / 4)))
  }
}
