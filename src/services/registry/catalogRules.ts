/**
 * What a catalog must make sense of beyond each field's own type: capability combinations the
 * translators rely on, and names (ids, aliases, fallbacks) that resolve to exactly one entry.
 * Each function returns every problem it finds, so that start-up names them all at once. Pure.
 */
import type { CatalogEntryJson, CatalogModel, Thinking } from "../../domain/Catalog.ts"

/** Fields the gateway itself decides (model, budget, streaming): a model cannot refuse them. */
const gatewayFields = new Set(["model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens"])

const thinkingProblems = (entry: CatalogEntryJson, thinking: Thinking): Array<string> => {
  if (thinking.kind === "effort") {
    const problems: Array<string> = []
    if (entry.provider !== "openai") {
      problems.push(
        `thinking.kind "effort" passes reasoning_effort to OpenAI; ${entry.provider} takes a budget or a level`
      )
    }
    if (entry.reasoning !== true) {
      problems.push('thinking.kind "effort" needs reasoning: true (only reasoning models take reasoning_effort)')
    }
    return problems
  }
  const [name, values] = thinking.kind === "budget" ? ["budgets", thinking.budgets] : ["levels", thinking.levels]
  const efforts = Object.keys(values)
  const problems: Array<string> = []
  if (entry.provider === "openai") {
    problems.push(`thinking.kind "${thinking.kind}" is for Anthropic and Gemini; OpenAI models take kind "effort"`)
  }
  if (efforts.length === 0) problems.push(`thinking.${name} names no effort`)
  if (thinking.default !== undefined && !efforts.includes(thinking.default)) {
    problems.push(`thinking.default "${thinking.default}" is not one of thinking.${name} (${efforts.join(", ")})`)
  }
  if (thinking.kind === "budget") {
    for (const [effort, budget] of Object.entries(thinking.budgets)) {
      // The thinking budget is part of the output: the answer needs room after it.
      if (budget !== undefined && budget >= entry.max_output_tokens) {
        problems.push(
          `thinking.budgets.${effort} (${budget}) must be below max_output_tokens (${entry.max_output_tokens})`
        )
      }
    }
  }
  return problems
}

/** The problems of one decoded entry, each without the entry's label. */
export const entryProblems = (entry: CatalogEntryJson): Array<string> => {
  const problems: Array<string> = []
  if (entry.max_output_tokens > entry.context_window) {
    problems.push(
      `max_output_tokens (${entry.max_output_tokens}) is above context_window (${entry.context_window}), which holds the output too`
    )
  }
  if (entry.thinking !== undefined) problems.push(...thinkingProblems(entry, entry.thinking))
  for (const field of entry.unsupported_parameters ?? []) {
    if (gatewayFields.has(field)) {
      problems.push(`unsupported_parameters: ${field} is decided by the gateway, not refused by the model`)
    }
  }
  for (const group of entry.exclusive_parameters ?? []) {
    if (new Set(group).size < 2) {
      problems.push(`exclusive_parameters: [${group.join(", ")}] needs at least two different fields`)
    }
  }
  if (entry.provider === "openai" && entry.structured_outputs === "tool") {
    problems.push('structured_outputs "tool" emulates JSON output with a tool; OpenAI models constrain it natively')
  }
  return problems
}

const quoted = (name: string) => JSON.stringify(name)

const kindName = { chat: "a chat model", embedding: "an embedding model" } as const

/**
 * Every public name (id or alias) resolves to one entry, and every fallback names another entry:
 * the problems, and the entry of each name.
 */
export const resolveNames = (
  models: ReadonlyArray<CatalogModel>,
  source: string
): { readonly problems: Array<string>; readonly byName: Map<string, CatalogModel> } => {
  const problems: Array<string> = []
  const byName = new Map<string, CatalogModel>()
  for (const model of models) {
    if (byName.has(model.id)) problems.push(`${source}: model id ${quoted(model.id)} appears twice`)
    else byName.set(model.id, model)
  }
  for (const model of models) {
    for (const alias of model.aliases) {
      const owner = byName.get(alias)
      if (owner === undefined) {
        byName.set(alias, model)
      } else if (owner.id === alias) {
        problems.push(
          `${source} (${quoted(model.id)}): alias ${quoted(alias)} is ${owner === model ? "its own id" : "the id of another model"}`
        )
      } else {
        problems.push(
          `${source} (${quoted(model.id)}): alias ${quoted(alias)} is already an alias of ${quoted(owner.id)}`
        )
      }
    }
  }
  for (const model of models) {
    for (const fallback of model.fallbacks) {
      const target = byName.get(fallback)
      if (target === undefined || target.id === model.id) {
        problems.push(
          `${source} (${quoted(model.id)}): fallback ${quoted(fallback)} is not another model of the catalog`
        )
      } else if (target.kind !== model.kind) {
        // An embedding route cannot be answered by a chat model, nor the reverse.
        problems.push(
          `${source} (${quoted(model.id)}): fallback ${quoted(fallback)} is ${kindName[target.kind]}, not ${kindName[model.kind]}`
        )
      }
    }
  }
  return { problems, byName }
}
