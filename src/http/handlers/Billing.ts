import * as Effect from "effect/Effect"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import type { CreditRequest } from "../../domain/Billing.ts"
import { PermissionDenied, ValidationError } from "../../domain/errors.ts"
import * as Money from "../../domain/Money.ts"
import { Billing } from "../../services/billing/Billing.ts"
import { Api, CurrentUser } from "../Api.ts"

/**
 * The `amount` literal as the client wrote it in the body (JSON.parse's source text access); the
 * payload was decoded from the same body, which the request keeps.
 */
const amountLiteral = (body: string): string | undefined => {
  const sources = new Map<unknown, string>()
  const root: unknown = JSON.parse(
    body,
    function (this: unknown, key: string, value: unknown, context?: { readonly source?: string }) {
      if (key === "amount" && context?.source !== undefined) sources.set(this, context.source)
      return value
    }
  )
  return sources.get(root)
}

const invalidAmount = (message: string) => new ValidationError({ message: `amount: ${message}`, param: "amount" })

/**
 * The request schema has read a JSON number as the double it parses to: that is the amount only when the
 * double holds the number as written, else it is refused rather than silently rounded.
 */
const asWritten = (amount: Money.Nanos, literal: string | undefined): Effect.Effect<void, ValidationError> => {
  // A decimal string (quoted) is exact as it is.
  if (literal === undefined || literal.startsWith('"')) return Effect.void
  const written = Money.parseNumberLiteral(literal)
  if (written === undefined) return Effect.fail(invalidAmount("at most 9 decimal places"))
  if (written === amount) return Effect.void
  return Effect.fail(
    invalidAmount(
      `${literal} cannot be held exactly by a JSON number (it reads as ${Money.format(amount)}); ` +
        `send it as a decimal string: "${Money.format(written)}"`
    )
  )
}

const requestBody = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => request.text)

export const BillingHandlers = HttpApiBuilder.group(
  Api,
  "billing",
  Effect.fnUntraced(function* (handlers) {
    const billing = yield* Billing

    // Every user only ever sees their own account: the user id comes from the token, never from the request.
    const credit = Effect.fn("BillingHandlers.credit")(function* (payload: CreditRequest) {
      const admin = yield* CurrentUser
      if (admin.role !== "admin") {
        return yield* new PermissionDenied({ message: "Only an admin token may add credits or adjustments" })
      }
      yield* asWritten(payload.amount, amountLiteral(yield* Effect.orDie(requestBody)))
      const description = payload.description?.trim() || (payload.amount > 0n ? "Credit" : "Adjustment")
      return yield* billing.credit({ userId: payload.user_id, amount: payload.amount, description, actor: admin.id })
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
