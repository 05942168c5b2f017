/**
 * Usage reports: the ledger's charges of a period, summed per UTC day and model by the database
 * (BillingSql.usage), regrouped here as the caller asked, with exact totals and one page of groups.
 */
import { type Usage, type UsageGroup, type UsageGrouping, usd } from "../../domain/Billing.ts"
import type * as Money from "../../domain/Money.ts"
import type { UsageRow } from "./BillingSql.ts"

export interface UsageQuery {
  /** Undefined: every user. */
  readonly userId: string | undefined
  /** The first UTC day, YYYY-MM-DD. */
  readonly from: string
  /** The UTC day after the last. */
  readonly to: string
  readonly groupBy: UsageGrouping
  readonly limit: number
  readonly offset: number
}

interface Sums {
  requests: number
  spend: Money.Nanos
  promptTokens: number
  completionTokens: number
  cachedTokens: number
  reasoningTokens: number
}

const zero = (): Sums => ({
  requests: 0,
  spend: 0n,
  promptTokens: 0,
  completionTokens: 0,
  cachedTokens: 0,
  reasoningTokens: 0
})

const add = (sums: Sums, row: UsageRow) => {
  sums.requests += row.requests
  sums.spend += row.spend
  sums.promptTokens += row.promptTokens
  sums.completionTokens += row.completionTokens
  sums.cachedTokens += row.cachedTokens
  sums.reasoningTokens += row.reasoningTokens
}

const figures = (sums: Sums) => ({
  requests: sums.requests,
  spend: usd(sums.spend),
  prompt_tokens: sums.promptTokens,
  completion_tokens: sums.completionTokens,
  cached_tokens: sums.cachedTokens,
  reasoning_tokens: sums.reasoningTokens
})

const byKey = (left: { readonly key: string }, right: { readonly key: string }) =>
  left.key < right.key ? -1 : left.key > right.key ? 1 : 0

export const summarizeUsage = (rows: ReadonlyArray<UsageRow>, query: UsageQuery): Usage => {
  const byDay = query.groupBy !== "model"
  const byModel = query.groupBy !== "day"
  const groups = new Map<string, { readonly key: string; readonly day: string; readonly model: string; sums: Sums }>()
  const totals = zero()
  for (const row of rows) {
    // Days are YYYY-MM-DD, so the key sorts by day, then model; a NUL cannot occur in either.
    const key = `${byDay ? row.day : ""}\u0000${byModel ? row.model : ""}`
    let group = groups.get(key)
    if (group === undefined) {
      group = { key, day: row.day, model: row.model, sums: zero() }
      groups.set(key, group)
    }
    add(group.sums, row)
    add(totals, row)
  }
  const ordered = [...groups.values()].sort(byKey)
  const data = ordered.slice(query.offset, query.offset + query.limit).map((group): UsageGroup => ({
    ...(byDay ? { day: group.day } : {}),
    ...(byModel ? { model: group.model } : {}),
    ...figures(group.sums)
  }))
  return {
    user_id: query.userId ?? null,
    from: query.from,
    to: query.to,
    group_by: query.groupBy === "day,model" ? ["day", "model"] : [query.groupBy],
    data,
    totals: figures(totals),
    limit: query.limit,
    offset: query.offset,
    total: ordered.length
  }
}
