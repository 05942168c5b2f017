/**
 * How OpenAI's `reasoning_effort` reaches Claude, driven by the catalog's `thinking`
 * (https://platform.claude.com/docs/en/build-with-claude/thinking-troubleshooting, per-model table):
 * - `budget`: extended thinking, `thinking: {type: "enabled", budget_tokens}` (Claude 4.5 and earlier;
 *   deprecated on 4.6, refused from 4.7). The budget is at least 1,024 tokens and below `max_tokens`
 *   (https://platform.claude.com/docs/en/build-with-claude/extended-thinking); OpenAI counts reasoning
 *   inside the completion budget too, so a larger budget is lowered to `max_tokens − 1`.
 * - `level`: adaptive thinking, `thinking: {type: "adaptive"}` with `output_config.effort` set to the level
 *   (https://platform.claude.com/docs/en/build-with-claude/effort). The level `"disabled"` turns thinking
 *   off (`thinking: {type: "disabled"}`); a model whose map has no such level always thinks.
 * - `effort`: the effort name itself is the level (`none` turns thinking off, `minimal` is `low`).
 * A model that thinks unless told otherwise says so with the map's `default`.
 */
import * as Result from "effect/Result"
import type { CatalogModel, ReasoningEffort } from "../../domain/Catalog.ts"
import type { ChatCompletionRequest } from "../../domain/Chat.ts"
import type { UnsupportedReason } from "../../domain/ProviderError.ts"
import { unsupported } from "../translateCommon.ts"
import type { OutputConfig, RequestThinking } from "./wire.ts"

/** The level, in a `level` map, that turns thinking off. */
export const disabledLevel = "disabled"

/** Anthropic's smallest thinking budget. */
export const minimumBudget = 1024

export type ThinkingPlan =
  /** Nothing is sent: the model's own default, which the catalog says is not to think. */
  | { readonly kind: "unset" }
  | { readonly kind: "off" }
  | { readonly kind: "budget"; readonly budgetTokens: number }
  | { readonly kind: "adaptive"; readonly effort: string }

export interface Thinking {
  readonly plan: ThinkingPlan
  /** The client named the effort: a conflict with it is refused, never settled by turning thinking off. */
  readonly explicit: boolean
  /** Whether the gateway may turn thinking off (a model that always thinks may not). */
  readonly canDisable: boolean
}

export const isThinking = (plan: ThinkingPlan): boolean => plan.kind === "budget" || plan.kind === "adaptive"

const levelsOf = (model: CatalogModel): Partial<Record<ReasoningEffort, string>> | undefined => {
  const thinking = model.thinking
  if (thinking?.kind === "level") return thinking.levels
  if (thinking?.kind === "effort") {
    return { none: disabledLevel, minimal: "low", low: "low", medium: "medium", high: "high", xhigh: "xhigh" }
  }
  return undefined
}

const accepted = (map: Partial<Record<ReasoningEffort, unknown>>) => Object.keys(map).join(", ")

/** The thinking a request asks of its model, before any conflict with the rest of the request is settled. */
export const resolveThinking = (
  request: ChatCompletionRequest,
  model: CatalogModel,
  maxTokens: number
): Result.Result<Thinking, UnsupportedReason> => {
  const asked = request.reasoning_effort ?? undefined
  const explicit = asked !== undefined
  const thinking = model.thinking
  if (thinking === undefined) {
    if (asked === undefined || asked === "none")
      return Result.succeed({ plan: { kind: "unset" }, explicit, canDisable: true })
    return unsupported("reasoning_effort", `reasoning_effort: ${model.id} does not think; omit it or send "none"`)
  }
  const effort: ReasoningEffort | undefined = asked ?? ("default" in thinking ? thinking.default : undefined)
  const noEffort = { plan: { kind: "unset" } as const, explicit, canDisable: true }
  if (thinking.kind === "budget") {
    if (effort === undefined) return Result.succeed(noEffort)
    const budget = thinking.budgets[effort]
    if (budget === undefined) {
      return unsupported("reasoning_effort", `reasoning_effort: ${model.id} accepts ${accepted(thinking.budgets)}`)
    }
    if (budget === 0) return Result.succeed({ plan: { kind: "off" }, explicit, canDisable: true })
    const budgetTokens = Math.min(budget, maxTokens - 1)
    if (budgetTokens >= minimumBudget) {
      return Result.succeed({ plan: { kind: "budget", budgetTokens }, explicit, canDisable: true })
    }
    // No room to think within the completion budget: a default effort yields, an asked one is refused.
    if (!explicit) return Result.succeed({ plan: { kind: "off" }, explicit, canDisable: true })
    return unsupported(
      "reasoning_effort",
      `reasoning_effort: thinking on ${model.id} needs a completion budget (max_completion_tokens) above ${minimumBudget} tokens`
    )
  }
  const levels = levelsOf(model) ?? {}
  const canDisable = Object.values(levels).includes(disabledLevel)
  if (effort === undefined) return Result.succeed({ ...noEffort, canDisable })
  const level = levels[effort]
  if (level === undefined) {
    return unsupported("reasoning_effort", `reasoning_effort: ${model.id} accepts ${accepted(levels)}`)
  }
  const plan: ThinkingPlan = level === disabledLevel ? { kind: "off" } : { kind: "adaptive", effort: level }
  return Result.succeed({ plan, explicit, canDisable })
}

/**
 * Settles a conflict between thinking and another part of the request (`field`, with `why`): thinking the
 * client asked for is kept and the request refused; thinking the catalog chose is turned off.
 */
export const yieldThinking = (
  thinking: Thinking,
  field: string,
  why: string
): Result.Result<Thinking, UnsupportedReason> => {
  if (!isThinking(thinking.plan)) return Result.succeed(thinking)
  if (!thinking.explicit && thinking.canDisable) return Result.succeed({ ...thinking, plan: { kind: "off" } })
  return unsupported(field, `${field}: ${why}`)
}

/** The wire fields of a plan. */
export const thinkingFields = (
  plan: ThinkingPlan
): { readonly thinking?: RequestThinking; readonly output_config?: OutputConfig } => {
  switch (plan.kind) {
    case "unset":
      return {}
    case "off":
      return { thinking: { type: "disabled" } }
    case "budget":
      return { thinking: { type: "enabled", budget_tokens: plan.budgetTokens } }
    case "adaptive":
      return { thinking: { type: "adaptive" }, output_config: { effort: plan.effort } }
  }
}
