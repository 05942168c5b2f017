/**
 * What the ledger writer does with a batch whose statement failed: send it again, split it, or
 * fail its requests; and whether its commit may have happened (then a reserve's hold may exist
 * that nobody will settle).
 */
import * as Cause from "effect/Cause"
import * as Option from "effect/Option"
import * as SqlError from "effect/sql/SqlError"

export type Verdict =
  /** Send the same requests again. */
  | "retry"
  /** Send each half on its own: one request may be the cause. */
  | "split"
  /** Fail every request of the batch. */
  | "fail"

/** PostgreSQL's SQLSTATEs for a session the server ended (admin shutdown, crash shutdown, cannot connect now). */
const serverEndedSession = (error: SqlError.SqlError) => {
  const code = (error.reason.cause as { readonly code?: unknown } | undefined)?.code
  return typeof code === "string" && code.startsWith("57P")
}

/**
 * What to do with a batch that failed, and whether its commit may have happened. A lost
 * connection, or no answer in time, leaves the outcome unknown; an error the server reported
 * means the transaction rolled back.
 */
export const judge = (
  cause: Cause.Cause<unknown>,
  size: number,
  retried: boolean
): { readonly verdict: Verdict; readonly outcomeUnknown: boolean } => {
  const error = Option.getOrUndefined(Cause.findErrorOption(cause))
  if (Cause.isTimeoutError(error)) return { verdict: "fail", outcomeUnknown: true }
  // Not the database's error (a defect, say in reading its answer): whether it committed is not known.
  if (!SqlError.isSqlError(error)) return { verdict: size > 1 ? "split" : "fail", outcomeUnknown: true }
  const reason = error.reason._tag
  if (reason === "ConnectionError" || serverEndedSession(error)) {
    return { verdict: retried ? "fail" : "retry", outcomeUnknown: true }
  }
  // A statement that ran out of time would run out of time again.
  if (reason === "StatementTimeoutError") return { verdict: "fail", outcomeUnknown: false }
  if ((reason === "DeadlockError" || reason === "SerializationError" || reason === "LockTimeoutError") && !retried) {
    return { verdict: "retry", outcomeUnknown: false }
  }
  return { verdict: size > 1 ? "split" : "fail", outcomeUnknown: false }
}
