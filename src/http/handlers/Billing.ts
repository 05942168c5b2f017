import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import type { CreditRequest } from "../../domain/Billing.ts"
import { PermissionDenied, ValidationError } from "../../domain/errors.ts"
import * as Money from "../../domain/Money.ts"
import { Billing } from "../../services/billing/Billing.ts"
import { Api, CurrentUser } from "../Api.ts"

/** The largest single credit or adjustment, in USD: far above any real top-up, far below NUMERIC(30, 9). */
const maxCreditUsd = 1_000_000_000
const maxCredit = Money.parse(String(maxCreditUsd))!

const creditAmount = (amount: number): Effect.Effect<Money.Nanos, ValidationError> => {
  const nanos = Money.fromNumber(amount)
  if (nanos === undefined) {
    return Effect.fail(new ValidationError({ message: "amount: at most 9 decimal places", param: "amount" }))
  }
  if (nanos === 0n) return Effect.fail(new ValidationError({ message: "amount: must not be zero", param: "amount" }))
  if (nanos > maxCredit || nanos < -maxCredit) {
    return Effect.fail(
      new ValidationError({ message: `amount: at most ${maxCreditUsd} USD either way`, param: "amount" })
    )
  }
  return Effect.succeed(nanos)
}

export const BillingHandlers = HttpApiBuilder.group(
  Api,
  "billing",
  Effect.fnUntraced(function* (handlers) {
    const billing = yield* Billing

    // Every user only ever sees their own account: the user id comes from the token, never from the request.
    const credit = Effect.fnUntraced(function* (payload: CreditRequest) {
      const admin = yield* CurrentUser
      if (admin.role !== "admin") {
        return yield* new PermissionDenied({ message: "Only an admin token may add credits or adjustments" })
      }
      const amount = yield* creditAmount(payload.amount)
      const description = payload.description?.trim() || (amount > 0n ? "Credit" : "Adjustment")
      return yield* billing.credit({ userId: payload.user_id, amount, description, actor: admin.id })
    })

    return handlers
      .handle("balance", () => Effect.flatMap(CurrentUser, (user) => billing.balance(user.id)))
      .handle("transactions", ({ query }) =>
        Effect.flatMap(CurrentUser, (user) =>
          billing.transactions(user.id, { limit: query.limit ?? 10, offset: query.offset ?? 0 })
        )
      )
      .handle("credit", ({ payload }) => credit(payload))
  })
)
