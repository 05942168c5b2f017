/**
 * What the ledger writer does with a failed batch: a lost connection or a session the server
 * ended is sent again once (its commit may have happened: every request is idempotent), so is a
 * deadlock; a timeout fails the batch (its outcome unknown); any other error splits the batch
 * until one request is alone, then fails it.
 */
import { Cause } from "effect"
import { SqlError } from "effect/sql"
import { describe, expect, it } from "vitest"
import { judge } from "../../src/services/billing/BatchFailure.ts"

const sqlFailure = (reason: SqlError.SqlErrorReason) => Cause.fail(new SqlError.SqlError({ reason }))
const serverError = (code: string) => Object.assign(new Error("server error"), { code })

describe("a failed ledger batch", () => {
  it.each([
    ["a lost connection", sqlFailure(new SqlError.ConnectionError({ cause: new Error("reset") })), true],
    [
      "a session the server ended (57P01)",
      sqlFailure(new SqlError.UnknownError({ cause: serverError("57P01") })),
      true
    ],
    ["a deadlock", sqlFailure(new SqlError.DeadlockError({ cause: serverError("40P01") })), false],
    ["a serialization failure", sqlFailure(new SqlError.SerializationError({ cause: serverError("40001") })), false]
  ] as const)("after %s is sent again, once", (_, cause, outcomeUnknown) => {
    expect(judge(cause, 10, false)).toEqual({ verdict: "retry", outcomeUnknown })
    expect(judge(cause, 10, true).verdict).not.toBe("retry")
  })

  it("that ran out of time fails, its outcome unknown when the gateway stopped waiting", () => {
    expect(judge(Cause.fail(new Cause.TimeoutError()), 10, false)).toEqual({ verdict: "fail", outcomeUnknown: true })
    const serverTimeout = sqlFailure(new SqlError.StatementTimeoutError({ cause: serverError("57014") }))
    expect(judge(serverTimeout, 10, false)).toEqual({ verdict: "fail", outcomeUnknown: false })
  })

  it("with any other error is split until the failing request is alone", () => {
    const raised = sqlFailure(new SqlError.UnknownError({ cause: serverError("P0001") }))
    expect(judge(raised, 2, false)).toEqual({ verdict: "split", outcomeUnknown: false })
    expect(judge(raised, 1, false)).toEqual({ verdict: "fail", outcomeUnknown: false })
    expect(judge(Cause.die(new Error("a bug")), 2, false)).toEqual({ verdict: "split", outcomeUnknown: true })
  })
})
