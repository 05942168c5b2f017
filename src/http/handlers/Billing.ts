import * as Effect from "effect/Effect"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import * as Clock from "effect/Clock"
import type { AccountQuery, CreditRequest, UsageQuery } from "../../domain/Billing.ts"
import { PermissionDenied, ValidationError } from "../../domain/errors.ts"
import * as Money from "../../domain/Money.ts"
import { type AccountLookup, Billing } from "../../services/billing/Billing.ts"
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

const adminOnly = (what: string) => new PermissionDenied({ message: `Only an admin token may ${what}` })

/**
 * Whose account a read is about: the caller's own (opened on first use) unless an admin names another user,
 * which is never opened by reading it.
 */
const accountToRead = Effect.fnUntraced(function* (requested: string | undefined) {
  const user = yield* CurrentUser
  if (requested === undefined || requested === user.id) return { userId: user.id, lookup: "open" as AccountLookup }
  if (user.role !== "admin") return yield* adminOnly("read another user's account")
  return { userId: requested, lookup: "existing" as AccountLookup }
})

const dayMs = 24 * 60 * 60 * 1000
/** The default report: the last 30 days, today included. */
const defaultPeriodDays = 30
/** The longest report: a year, leap or not. */
const maxPeriodDays = 366

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10)
const msOf = (day: string) => Date.parse(`${day}T00:00:00Z`)

/** A usage report's subject and period (UTC days, `to` exclusive), checked: undefined user id means every user. */
const usagePeriod = Effect.fnUntraced(function* (query: typeof UsageQuery.Type) {
  const user = yield* CurrentUser
  const allUsers = query.all_users === "true"
  if (allUsers && query.user_id !== undefined) {
    return yield* new ValidationError({ message: "Name one user (user_id) or all users (all_users), not both" })
  }
  const others = allUsers || (query.user_id !== undefined && query.user_id !== user.id)
  if (others && user.role !== "admin") return yield* adminOnly("read another user's usage")
  const to = query.to ?? dayOf((yield* Clock.currentTimeMillis) + dayMs)
  const from = query.from ?? dayOf(msOf(to) - defaultPeriodDays * dayMs)
  const days = (msOf(to) - msOf(from)) / dayMs
  if (days < 1)
    return yield* new ValidationError({ message: `from (${from}) must be before to (${to})`, param: "from" })
  if (days > maxPeriodDays) {
    return yield* new ValidationError({
      message: `A report covers at most ${maxPeriodDays} days: from ${from} to ${to} is ${days}`,
      param: "from"
    })
  }
  return { userId: allUsers ? undefined : (query.user_id ?? user.id), from, to }
})

export const BillingHandlers = HttpApiBuilder.group(
  Api,
  "billing",
  Effect.fnUntraced(function* (handlers) {
    const billing = yield* Billing

    // Every user only ever sees their own account: the user id comes from the token, never from the request.
    const credit = Effect.fn("BillingHandlers.credit")(function* (payload: CreditRequest) {
      const admin = yield* CurrentUser
      if (admin.role !== "admin") {
        return yield* adminOnly("add credits or adjustments")
      }
      yield* asWritten(payload.amount, amountLiteral(yield* Effect.orDie(requestBody)))
      const description = payload.description?.trim() || (payload.amount > 0n ? "Credit" : "Adjustment")
      return yield* billing.credit({ userId: payload.user_id, amount: payload.amount, description, actor: admin.id })
    })

    const listAccounts = Effect.fn("BillingHandlers.accounts")(function* (query: typeof AccountQuery.Type) {
      if ((yield* CurrentUser).role !== "admin") return yield* adminOnly("list accounts")
      return yield* billing.accounts({
        search: query.search ?? "",
        sort: query.sort ?? "user_id",
        descending: query.order === "desc",
        limit: query.limit ?? 20,
        offset: query.offset ?? 0
      })
    })

    return handlers
      .handle("balance", ({ query }) =>
        Effect.flatMap(accountToRead(query.user_id), ({ userId, lookup }) => billing.balance(userId, lookup))
      )
      .handle("transactions", ({ query }) =>
        Effect.flatMap(accountToRead(query.user_id), ({ userId, lookup }) =>
          billing.transactions(
            userId,
            {
              limit: query.limit ?? 10,
              offset: query.offset ?? 0,
              ...(query.kind === undefined ? {} : { kind: query.kind }),
              ...(query.model === undefined ? {} : { model: query.model })
            },
            lookup
          )
        )
      )
      .handle("usage", ({ query }) =>
        Effect.flatMap(usagePeriod(query), (period) =>
          billing.usage({
            ...period,
            groupBy: query.group_by ?? "day",
            limit: query.limit ?? 100,
            offset: query.offset ?? 0
          })
        )
      )
      .handle("accounts", ({ query }) => listAccounts(query))
      .handle("credit", ({ payload }) => credit(payload))
  })
)
