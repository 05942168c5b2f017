import * as Effect from "effect/Effect"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import type { CreditRequest } from "../../domain/Billing.ts"
import { PermissionDenied, ValidationError } from "../../domain/errors.ts"
import * as Money from "../../domain/Money.ts"
import { Billing } from "../../services/billing/Billing.ts"
import { Api, CurrentUser } from "../Api.ts"

/** The largest single credit or adjustment, in USD: far above any real top-up, far below NUMERIC(30, 9). */
const maxCreditUsd = 1_000_000_000
const maxCredit = Money.parse(String(maxCreditUsd))!

const decimalString = /^-?\d+(\.\d+)?$/

const invalidAmount = (message: string) => new ValidationError({ message: `amount: ${message}`, param: "amount" })

/**
 * The `amount` literal as the client wrote it in the body (JSON.parse's source text access), so
 * that a number a double cannot hold is refused rather than silently rounded. The payload was
 * decoded from the same body, which the request keeps.
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

/** An exact amount: a decimal string, or a JSON number that a double holds exactly as written. */
const creditAmount = (
  amount: number | string,
  literal: string | undefined
): Effect.Effect<Money.Nanos, ValidationError> => {
  let nanos: Money.Nanos | undefined
  if (typeof amount === "string") {
    nanos = decimalString.test(amount) ? Money.parse(amount) : undefined
    if (nanos === undefined) {
      return Effect.fail(invalidAmount('a decimal string has at most 9 decimal places and no exponent, e.g. "12.5"'))
    }
  } else {
    nanos = literal === undefined ? Money.fromNumber(amount) : Money.parseNumberLiteral(literal)
    if (nanos === undefined) return Effect.fail(invalidAmount("at most 9 decimal places"))
    if (Money.fromNumber(amount) !== nanos) {
      return Effect.fail(
        invalidAmount(
          `${literal} cannot be held exactly by a JSON number (it reads as ${amount}); ` +
            `send it as a decimal string: "${Money.format(nanos)}"`
        )
      )
    }
  }
  if (nanos === 0n) return Effect.fail(invalidAmount("must not be zero"))
  if (nanos > maxCredit || nanos < -maxCredit)
    return Effect.fail(invalidAmount(`at most ${maxCreditUsd} USD either way`))
  return Effect.succeed(nanos)
}

const requestBody = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => request.text)

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
      const literal = typeof payload.amount === "number" ? amountLiteral(yield* Effect.orDie(requestBody)) : undefined
      const amount = yield* creditAmount(payload.amount, literal)
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
