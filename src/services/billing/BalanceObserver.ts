import { Context, Effect } from "effect"
import type { Nanos } from "../../domain/Money.ts"

/**
 * Told the balance of an account after every change (settle, credit), for the `user_balance`
 * gauge. Does nothing unless a layer provides one; it must be quick and must not fail.
 */
export const BalanceObserver = Context.Reference<{
  readonly balanceChanged: (userId: string, balance: Nanos) => Effect.Effect<void>
}>("gateway/billing/BalanceObserver", { defaultValue: () => ({ balanceChanged: () => Effect.void }) })
