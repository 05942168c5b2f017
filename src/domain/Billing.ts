import { Schema } from "effect"

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
  balance_after: Schema.Number
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

const IntFromString = Schema.NumberFromString.check(Schema.isInt())

export const TransactionQuery = Schema.Struct({
  limit: Schema.optionalKey(IntFromString.check(Schema.isBetween({ minimum: 1, maximum: 100 }))),
  offset: Schema.optionalKey(IntFromString.check(Schema.isGreaterThanOrEqualTo(0)))
})

export const CreditRequest = Schema.Struct({
  user_id: Schema.String.check(Schema.isNonEmpty()),
  amount: Schema.Finite,
  description: Schema.optionalKey(Schema.String)
}).annotate({ identifier: "CreditRequest" })
export type CreditRequest = typeof CreditRequest.Type
