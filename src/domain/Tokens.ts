/**
 * Token arithmetic for billing. `promptUpperBound` is a guaranteed ceiling on what any of
 * the models that may answer can bill for a prompt (it decides the hold); `countPromptTokens`
 * and `countTextTokens` are the best offline counts, used when a provider reports no usage.
 * The rules, their sources and what is refused: docs/tokens.md.
 */
import type * as Result from "effect/Result"
import type { CatalogModel } from "./Catalog.ts"
import type { ChatCompletionRequest, Content } from "./Chat.ts"
import { bpeCount } from "./tokens/bpe.ts"
import { promptCeiling, type PromptUnbounded } from "./tokens/ceiling.ts"
import { countPrompt } from "./tokens/count.ts"
import { familyOf } from "./tokens/families.ts"

export type { PromptUnbounded } from "./tokens/ceiling.ts"

/** The text parts of a message's content, joined; other parts are left out. */
export const contentText = (content: Content | null | undefined): string => {
  if (content === null || content === undefined) return ""
  if (typeof content === "string") return content
  let text = ""
  for (const part of content) {
    if (part.type === "text") text += part.text
  }
  return text
}

/**
 * A ceiling on the input tokens that any of `models` (the requested model and its fallbacks)
 * can bill for the request, for reservations; or the part that has none. With no models,
 * every provider's rules apply and a part only a context window bounds is refused.
 */
export const promptUpperBound = (
  request: ChatCompletionRequest,
  models: ReadonlyArray<CatalogModel>
): Result.Result<number, PromptUnbounded> => promptCeiling(request, models)

/** The best offline count of a text's tokens as `model` would bill them (its BPE encoding). */
export const countTextTokens = (text: string, model: CatalogModel): number => bpeCount(text, familyOf(model).encoding)

/** The best offline count of a request's prompt tokens as `model` would bill them. */
export const countPromptTokens = (request: ChatCompletionRequest, model: CatalogModel): number =>
  countPrompt(request, model)

export { countEmbeddingInput, embeddingInputCeiling } from "./tokens/embeddingInput.ts"
