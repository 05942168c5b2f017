/**
 * `reasoning_effort` → Gemini's `thinkingConfig`, as the catalog entry says the model thinks
 * (https://ai.google.dev/gemini-api/docs/thinking): Gemini 2.5 takes a token budget
 * (`thinkingBudget`, 0 turning thinking off where the model allows it), Gemini 3 a level
 * (`thinkingLevel`); the API refuses a request that sets both, so only one is ever sent. Pure.
 */
import * as Result from "effect/Result"
import type { CatalogModel, ReasoningEffort } from "../../domain/Catalog.ts"
import type { ChatCompletionRequest } from "../../domain/Chat.ts"
import type { UnsupportedReason } from "../../domain/ProviderError.ts"
import { unsupported } from "../translateCommon.ts"
import type { ThinkingConfig } from "./wire.ts"

const refused = (effort: ReasoningEffort, model: CatalogModel, offered: ReadonlyArray<string>) =>
  unsupported(
    "reasoning_effort",
    `reasoning_effort "${effort}" is not supported by model ${model.id}; it takes ${offered.map((name) => `"${name}"`).join(", ")}`
  )

/**
 * The thinking settings for this request, or undefined to leave the model's own default. A model
 * without `thinking` in the catalog does not think, and the effort is dropped. Thought summaries
 * (`includeThoughts`) are asked for whenever the client names an effort that thinks: they come back
 * as `reasoning_content`.
 */
export const thinkingConfig = (
  request: ChatCompletionRequest,
  model: CatalogModel
): Result.Result<ThinkingConfig | undefined, UnsupportedReason> => {
  const thinking = model.thinking
  const asked = request.reasoning_effort ?? undefined
  const effort: ReasoningEffort | undefined = asked ?? (thinking?.kind === "effort" ? undefined : thinking?.default)
  if (thinking === undefined || effort === undefined) return Result.succeed(undefined)
  const summaries = asked !== undefined ? { includeThoughts: true } : {}
  switch (thinking.kind) {
    case "budget": {
      const budget = thinking.budgets[effort]
      if (budget === undefined) return refused(effort, model, Object.keys(thinking.budgets))
      return Result.succeed(budget === 0 ? { thinkingBudget: 0 } : { thinkingBudget: budget, ...summaries })
    }
    case "level": {
      const level = thinking.levels[effort]
      if (level === undefined) return refused(effort, model, Object.keys(thinking.levels))
      return Result.succeed({ thinkingLevel: level, ...summaries })
    }
    case "effort":
      // Gemini's levels carry OpenAI's effort names (minimal, low, medium, high).
      return Result.succeed({ thinkingLevel: effort, ...summaries })
  }
}
