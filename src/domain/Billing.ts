import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as SchemaTransformation from "effect/SchemaTransformation"
import * as Money from "./Money.ts"

/** A value `JSON.stringify` writes verbatim (`JSON.rawJSON`, Node 21+; not yet in TypeScript's lib). */
interface RawJson {
  readonly rawJSON: string
}
const rawJson = JSON as unknown as {
  readonly rawJSON: (text: string) => RawJson
  readonly isRawJSON: (value: unknown) => value is RawJson
}

/**
 * USD in a response: a JSON number written with every digit of the ledger's amount
 * (`9999999.999999999`), never rounded through a double on the way out. A client that reads
 * numbers as decimals gets the exact amount; one that reads doubles gets the nearest double.
 */
export const Usd = Schema.declare<RawJson>((value): value is RawJson => rawJson.isRawJSON(value), {
  description: "USD: an exact decimal number with at most 9 decimal places",
  // Written to JSON as it is (JSON.stringify prints the raw text), not converted to a double.
  toCodecJson: () => undefined
}).check(
  // What the OpenAPI document says it is: a number.
  Schema.makeFilter(() => true, { toJsonSchema: () => ({ type: "number" }) })
)
export type Usd = typeof Usd.Type

export const usd = (amount: Money.Nanos): Usd => rawJson.rawJSON(Money.format(amount))

export const Balance = Schema.Struct({
  user_id: Schema.String,
  balance: Usd,
  /** Balance minus the holds of requests in flight. */
  available: Usd
}).annotate({ identifier: "Balance" })
export type Balance = typeof Balance.Type

const count = Schema.optionalKey(Schema.NullOr(Schema.Int))
const price = Schema.optionalKey(Schema.NullOr(Usd))

export const Transaction = Schema.Struct({
  id: Schema.String,
  user_id: Schema.String,
  amount: Usd,
  description: Schema.String,
  timestamp: Schema.String,
  balance_after: Usd,
  /** Charges only: the request they bill, the model that answered, and its usage. */
  request_id: Schema.optionalKey(Schema.NullOr(Schema.String)),
  model: Schema.optionalKey(Schema.NullOr(Schema.String)),
  /** All billed input: cached and cache-write tokens are part of it. */
  prompt_tokens: count,
  cached_tokens: count,
  cache_write_tokens: count,
  /** All output: reasoning tokens are part of it. */
  completion_tokens: count,
  reasoning_tokens: count,
  /**
   * Where the counts came from: `provider` (the provider's final usage), `partial` (the provider's
   * counts so far, completed by the gateway's tokenizer: a stream cut mid-way), `tokenizer` (the
   * gateway's own count); `estimated` on charges made before these were told apart.
   */
  usage_source: Schema.optionalKey(Schema.NullOr(Schema.Literals(["provider", "partial", "tokenizer", "estimated"]))),
  /** The unit prices the charge applied, USD per million tokens (null on charges made before they were recorded). */
  input_price_per_1m: price,
  cached_input_price_per_1m: price,
  cache_write_price_per_1m: price,
  output_price_per_1m: price,
  /** What the usage cost beyond what the account had available: the charge is `-amount`, the cost `-amount + uncollected`. */
  uncollected: Schema.optionalKey(Usd)
}).annotate({ identifier: "Transaction" })
export type Transaction = typeof Transaction.Type

/** A page of a listing: its size and place, and how many items the whole listing has. */
const page = { limit: Schema.Int, offset: Schema.Int, total: Schema.Int }

export const TransactionList = Schema.Struct({
  user_id: Schema.String,
  transactions: Schema.Array(Transaction),
  ...page
}).annotate({ identifier: "TransactionList" })
export type TransactionList = typeof TransactionList.Type

/** A query parameter written as a plain decimal integer: "1.5", "1e1", " 5" or "" are refused, not guessed at. */
const IntFromString = Schema.String.check(Schema.isPattern(/^-?\d{1,15}$/, { message: "Expected an integer" })).pipe(
  Schema.decodeTo(Schema.Int, SchemaTransformation.numberFromString)
)

const Offset = Schema.optionalKey(IntFromString.check(Schema.isGreaterThanOrEqualTo(0)))
const pageLimit = (maximum: number) =>
  Schema.optionalKey(IntFromString.check(Schema.isBetween({ minimum: 1, maximum })))

/** Admin tokens may read another user's account; other tokens only their own (403 otherwise). */
const OtherUser = Schema.optionalKey(Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(256)))

export const BalanceQuery = Schema.Struct({ user_id: OtherUser })

export const TransactionQuery = Schema.Struct({
  user_id: OtherUser,
  /** Only transactions of this kind. */
  kind: Schema.optionalKey(Schema.Literals(["initial", "charge", "credit", "adjustment"])),
  /** Only charges of this model (its catalog id). */
  model: Schema.optionalKey(Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(256))),
  limit: pageLimit(100),
  offset: Offset
})

/** A UTC day as a query parameter, `2026-11-01`: one that exists (not 2026-02-31). */
const Day = Schema.String.check(
  Schema.isPattern(/^\d{4}-\d{2}-\d{2}$/, { message: "Expected a day as YYYY-MM-DD" }),
  Schema.makeFilter(
    (day) => {
      const date = new Date(`${day}T00:00:00Z`)
      return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(day)
    },
    { message: "Not a day of the calendar" }
  )
)

export const usageGroupings = ["day", "model", "day,model"] as const
export type UsageGrouping = (typeof usageGroupings)[number]

export const UsageQuery = Schema.Struct({
  /** The first UTC day of the period. */
  from: Schema.optionalKey(Day),
  /** The UTC day after the period (exclusive). */
  to: Schema.optionalKey(Day),
  group_by: Schema.optionalKey(Schema.Literals(usageGroupings)),
  user_id: OtherUser,
  /** `true`: every user's charges together (admin tokens only). */
  all_users: Schema.optionalKey(Schema.Literals(["true", "false"])),
  limit: pageLimit(1000),
  offset: Offset
})

const UsageFigures = {
  /** Charges in the group: one per request that was billed. */
  requests: Schema.Int,
  /** What the charges took from the balance. */
  spend: Usd,
  prompt_tokens: Schema.Int,
  completion_tokens: Schema.Int,
  cached_tokens: Schema.Int,
  reasoning_tokens: Schema.Int
}

export const UsageGroup = Schema.Struct({
  /** The UTC day, `YYYY-MM-DD`: when grouped by day. */
  day: Schema.optionalKey(Schema.String),
  /** The model that answered: when grouped by model. */
  model: Schema.optionalKey(Schema.String),
  ...UsageFigures
}).annotate({ identifier: "UsageGroup" })
export type UsageGroup = typeof UsageGroup.Type

export const UsageTotals = Schema.Struct(UsageFigures).annotate({ identifier: "UsageTotals" })
export type UsageTotals = typeof UsageTotals.Type

export const Usage = Schema.Struct({
  /** Null when the report covers every user. */
  user_id: Schema.NullOr(Schema.String),
  from: Schema.String,
  to: Schema.String,
  group_by: Schema.Array(Schema.Literals(["day", "model"])),
  /** The groups with at least one charge, by day then model; one page of them. */
  data: Schema.Array(UsageGroup),
  /** The whole period, not only the page. */
  totals: UsageTotals,
  /** `total`: the groups of the whole period. */
  ...page
}).annotate({ identifier: "Usage" })
export type Usage = typeof Usage.Type

export const accountSorts = ["user_id", "balance", "updated_at"] as const
export type AccountSort = (typeof accountSorts)[number]

export const AccountQuery = Schema.Struct({
  /** A case-insensitive part of the user id. */
  search: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(256))),
  sort: Schema.optionalKey(Schema.Literals(accountSorts)),
  order: Schema.optionalKey(Schema.Literals(["asc", "desc"])),
  limit: pageLimit(100),
  offset: Offset
})

export const Account = Schema.Struct({
  user_id: Schema.String,
  balance: Usd,
  available: Usd,
  updated_at: Schema.String
}).annotate({ identifier: "Account" })
export type Account = typeof Account.Type

export const AccountList = Schema.Struct({
  accounts: Schema.Array(Account),
  ...page
}).annotate({ identifier: "AccountList" })
export type AccountList = typeof AccountList.Type

/** The largest single credit or adjustment, in USD: far above any real top-up, far below NUMERIC(30, 9). */
export const maxCreditUsd = 1_000_000_000
const maxCredit = Money.parse(String(maxCreditUsd))!

const decimalString = /^-?\d+(\.\d+)?$/

/**
 * An amount in USD, exactly: a decimal string with at most 9 decimals and no exponent, or a JSON number whose
 * double prints with at most 9 decimals. Whether the number is the one the client wrote (a double may not
 * hold it) needs the body's text, so the credits handler checks that.
 */
const CreditAmount = Schema.Union([Schema.Finite, Schema.String]).pipe(
  Schema.decodeTo(
    Schema.BigInt.check(
      Schema.makeFilter((nanos) => nanos !== 0n, { message: "must not be zero" }),
      Schema.isBetweenBigInt(
        { minimum: -maxCredit, maximum: maxCredit },
        { message: `at most ${maxCreditUsd} USD either way` }
      )
    ),
    SchemaTransformation.transformEffect({
      decode: (amount, options) => {
        const nanos =
          typeof amount === "number"
            ? Money.fromNumber(amount)
            : decimalString.test(amount)
              ? Money.parse(amount)
              : undefined
        if (nanos !== undefined) return Effect.succeed(nanos)
        const message =
          typeof amount === "number"
            ? "at most 9 decimal places"
            : 'a decimal string has at most 9 decimal places and no exponent, e.g. "12.5"'
        return Effect.fail(new SchemaIssue.InvalidValue({ message }, amount, options))
      },
      encode: (nanos) => Effect.succeed(Money.format(nanos))
    })
  )
)

export const CreditRequest = Schema.Struct({
  user_id: Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(256)),
  /** USD; positive adds a credit, negative an adjustment (never below zero). */
  amount: CreditAmount,
  description: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(500)))
}).annotate({ identifier: "CreditRequest" })
export type CreditRequest = typeof CreditRequest.Type
