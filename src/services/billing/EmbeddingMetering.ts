/**
 * The arithmetic of billing an embeddings request, pure: input tokens are all it is charged for.
 * The hold covers the inputs' token ceiling at the highest input price of the models that may
 * answer; the charge is the provider's reported usage, else the gateway's tokenizer count
 * (Gemini reports none), at the prices of the model that answered.
 */
import type { CatalogModel } from "../../domain/Catalog.ts"
import type { EmbeddingInputs } from "../../domain/Embeddings.ts"
import * as Money from "../../domain/Money.ts"
import { countEmbeddingInput, embeddingInputCeiling } from "../../domain/Tokens.ts"
import { charge, type ChargeOutcome, type Reservation } from "./Metering.ts"

/**
 * The hold of an embeddings request: no output, so one "completion token" at price 0 (what a hold needs to be
 * made) and the prompt at its ceiling.
 */
export const embeddingReservation = (input: {
  readonly userId: string
  readonly requestId: string
  readonly inputs: EmbeddingInputs
  readonly model: CatalogModel
  readonly candidates: ReadonlyArray<CatalogModel>
}): Reservation => {
  let promptCost = 0n
  let promptTokens = 0
  for (const model of [input.model, ...input.candidates]) {
    const ceiling = embeddingInputCeiling(input.inputs, model)
    const cost = Money.costOf(ceiling, model.inputPricePerMillion)
    if (cost > promptCost) promptCost = cost
    if (ceiling > promptTokens) promptTokens = ceiling
  }
  return {
    userId: input.userId,
    requestId: input.requestId,
    model: input.model,
    promptTokens,
    promptCost,
    outputPricePerMillion: 0n,
    choices: 1,
    maxTokens: 1
  }
}

/** The provider's count when it reported one, else the tokenizer's. */
export const embeddingCharge = (
  inputs: EmbeddingInputs,
  model: CatalogModel,
  reportedTokens: number | undefined
): ChargeOutcome =>
  reportedTokens === undefined
    ? charge(model, "tokenizer", { promptTokens: countEmbeddingInput(inputs, model), completionTokens: 0 })
    : charge(model, "provider", { promptTokens: reportedTokens, completionTokens: 0 })
