/**
 * The tokens of an embeddings request's inputs: a guaranteed ceiling for the hold, and the best
 * offline count for a provider that reports no usage (Gemini). Token arrays are counted exactly.
 * No input is counted beyond the model's input limit (`contextWindow`): OpenAI refuses a longer
 * input (nothing is billed), and Gemini's count is the gateway's own, capped the same way.
 */
import type { CatalogModel } from "../Catalog.ts"
import type { EmbeddingInputs } from "../Embeddings.ts"
import { bpeCount } from "./bpe.ts"
import { familyOf } from "./families.ts"

const sumOver = <A>(items: ReadonlyArray<A>, count: (item: A) => number, limit: number): number => {
  let total = 0
  for (const item of items) total += Math.min(count(item), limit)
  return total
}

/** Byte-level BPE never makes a token of less than one byte, nor does SentencePiece with byte fallback. */
export const embeddingInputCeiling = (inputs: EmbeddingInputs, model: CatalogModel): number =>
  inputs._tag === "Texts"
    ? sumOver(inputs.texts, (text) => Buffer.byteLength(text, "utf8"), model.contextWindow)
    : sumOver(inputs.tokens, (tokens) => tokens.length, model.contextWindow)

/** The model's BPE count of each text (its family's encoding), or the length of each token array. */
export const countEmbeddingInput = (inputs: EmbeddingInputs, model: CatalogModel): number => {
  const encoding = familyOf(model).encoding
  return inputs._tag === "Texts"
    ? sumOver(inputs.texts, (text) => bpeCount(text, encoding), model.contextWindow)
    : sumOver(inputs.tokens, (tokens) => tokens.length, model.contextWindow)
}
