import { Schema, SchemaTransformation } from "effect"

export const Balance = Schema.Struct({
  user_id: Schema.String,
  balance: Schema.Number,
  /** Balance minus the holds of requests in flight. */
  available: Schema.Number
}).annotate({ identifier: "Balance" })
export type Balance = typeof Balance.Type

export const Transaction = Schema.Struct({
  id: Schema.String,
  user_id: Schema.String,
  amount: Schema.Number,
  description: Schema.String,
  timestamp: Schema.String,
  balance_after: Schema.Number,
  /** Charges only: the request they bill, the model that answered, and its usage. */
  request_id: Schema.optionalKey(Schema.NullOr(Schema.String)),
  model: Schema.optionalKey(Schema.NullOr(Schema.String)),
  prompt_tokens: Schema.optionalKey(Schema.NullOr(Schema.Int)),
  completion_tokens: Schema.optionalKey(Schema.NullOr(Schema.Int)),
  /** `provider` when the usage is the provider's report, `estimated` when the gateway had to estimate it. */
  usage_source: Schema.optionalKey(Schema.NullOr(Schema.Literals(["provider", "estimated"])))
}).annotate({ identifier: "Transaction" })
export type Transaction = typeof Transaction.Type

export const TransactionList = Schema.Struct({
  user_id: Schema.String,
  transactions: Schema.Array(Transaction),
  limit: Schema.Int,
  offset: Schema.Int,
  total: Schema.Int
}).annotate({ identifier: "TransactionList" })
export type TransactionList = typeof TransactionList.Type

/** A query parameter written as a plain decimal integer: "1.5", "1e1", " 5" or "" are refused, not guessed at. */
const IntFromString = Schema.String.check(Schema.isPattern(/^-?\d{1,15}$/, { message: "Expected an integer" })).pipe(
  Schema.decodeTo(Schema.Int, SchemaTransformation.numberFromString)
)

export const TransactionQuery = Schema.Struct({
  limit: Schema.optionalKey(IntFromString.check(Schema.isBetween({ minimum: 1, maximum: 100 }))),
  offset: Schema.optionalKey(IntFromString.check(Schema.isGreaterThanOrEqualTo(0)))
})

export const CreditRequest = Schema.Struct({
  user_id: Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(256)),
  /** USD; positive adds a credit, negative an adjustment (never below zero). At most 9 decimals. */
  amount: Schema.Finite,
  description: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(500)))
}).annotate({ identifier: "CreditRequest" })
export type CreditRequest = typeof CreditRequest.Type
