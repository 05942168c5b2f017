/**
 * The ledger as the API shows it, and the charge a ledger row records for an outcome.
 */
import { type Transaction, usd } from "../../domain/Billing.ts"
import type { Hold } from "./Billing.ts"
import type { LedgerCharge, LedgerRow } from "./BillingSql.ts"
import { chargeOf, type Outcome } from "./Metering.ts"

const usdOrNull = (amount: bigint | null) => (amount === null ? null : usd(amount))

export const toTransaction = (userId: string, row: LedgerRow): Transaction => ({
  id: `txn_${row.id}`,
  user_id: userId,
  amount: usd(row.amount),
  description: row.description,
  timestamp: row.createdAt.toISOString(),
  balance_after: usd(row.balanceAfter),
  ...(row.kind === "charge"
    ? {
        request_id: row.requestId,
        model: row.model,
        prompt_tokens: row.promptTokens,
        cached_tokens: row.cachedTokens,
        cache_write_tokens: row.cacheWriteTokens,
        completion_tokens: row.completionTokens,
        reasoning_tokens: row.reasoningTokens,
        usage_source: row.usageSource,
        input_price_per_1m: usdOrNull(row.inputPrice),
        cached_input_price_per_1m: usdOrNull(row.cachedInputPrice),
        cache_write_price_per_1m: usdOrNull(row.cacheWritePrice),
        output_price_per_1m: usdOrNull(row.outputPrice),
        uncollected: usd(row.uncollected ?? 0n)
      }
    : {})
})

export const ledgerCharge = (hold: Hold, outcome: Outcome): LedgerCharge | undefined =>
  outcome._tag === "Release"
    ? undefined
    : { ...chargeOf(outcome), requestId: hold.requestId, description: `Chat completion with ${outcome.model.id}` }
