/**
 * The batched ledger on a real database: one statement applies each account's requests in
 * arrival order (an over-budget reserve is refused beside affordable ones), concurrent requests
 * share commits, and a batch that fails fails only its own requests: a request that makes its
 * batch fail is isolated, a batch whose connection is terminated is sent again, a batch whose
 * answer was lost after its commit makes no second hold, and a reserve nobody will settle (its
 * answer lost, its caller gone) is released, by key or by the sweeper.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Fiber, Result } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import { TestClock } from "effect/testing"
import { randomUUID } from "node:crypto"
import { afterAll, beforeAll } from "vitest"
import { Billing, type Hold } from "../../src/services/billing/Billing.ts"
import { type LedgerRequest, makeBatchSql, reserveResult, settleResult } from "../../src/services/billing/BatchSql.ts"
import { ledgerCharge } from "../../src/services/billing/Ledger.ts"
import { makeLedgerWriter } from "../../src/services/billing/LedgerWriter.ts"
import { minimumCost, release, reservationFor } from "../../src/services/billing/Metering.ts"
import {
  accountChangedAt,
  accountOf,
  billingLayer,
  blockedBatches,
  chargeOutcome,
  eventually,
  holdsOf,
  ledgerOf,
  ledgerViolations,
  lockAccount,
  settleIo
} from "../support/billing.ts"
import { type FreshDatabase, freshDatabase } from "../support/database.ts"
import { catalogModel as model, expectOnlyInitial, inputFor, newUser, scripted, usd } from "../support/scripted.ts"
import { postgresAvailable } from "../support/services.ts"

let database: FreshDatabase
beforeAll(async () => {
  if (postgresAvailable) database = await freshDatabase("billing_batch")
})
afterAll(() => database?.drop())

const layer = () => billingLayer(database.url, scripted().provider)

const reservation = (userId: string, maxTokens = 100) =>
  Effect.map(model("gpt-4"), (gpt4) =>
    Result.getOrThrow(reservationFor({ ...inputFor(userId), userId, model: gpt4, candidates: [], maxTokens }))
  )

type ReserveRequest = Extract<LedgerRequest, { readonly _tag: "Reserve" }>

/** A reserve as Billing sends it, expiring after the hold TTL of the tests (900 s) on the test clock. */
const reserveRequest = (userId: string, maxTokens?: number) =>
  Effect.gen(function* () {
    const request: ReserveRequest = {
      _tag: "Reserve",
      key: randomUUID(),
      reservation: yield* reservation(userId, maxTokens),
      expiresAt: new Date((yield* Clock.currentTimeMillis) + 900_000)
    }
    return request
  })

/** The transactions that wrote an account's holds (each row's xmin): fewer than its holds means shared commits. */
const commitsOf = (userId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<{ readonly commits: number }>`
        SELECT count(DISTINCT xmin::text)::int AS commits FROM billing_holds WHERE user_id = ${userId}`,
      (rows) => rows[0]!.commits
    )
  )

/** Makes the holds of `requestId` fail to insert, as a database error would; counts the attempts. */
const poison = (requestId: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const name = `poison_${requestId.replace(/\W/g, "_")}`
    yield* sql.unsafe(`CREATE SEQUENCE ${name}`)
    yield* sql.unsafe(`
      CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.request_id = '${requestId}' THEN
          PERFORM nextval('${name}');
          RAISE EXCEPTION 'simulated failure of one request';
        END IF;
        RETURN NEW;
      END $$`)
    yield* sql.unsafe(`CREATE TRIGGER ${name} BEFORE INSERT ON billing_holds FOR EACH ROW EXECUTE FUNCTION ${name}()`)
    return {
      attempts: Effect.map(
        sql<{ readonly n: number }>`SELECT CASE WHEN is_called THEN last_value ELSE 0 END::int AS n FROM ${sql(name)}`,
        (rows) => rows[0]!.n
      ),
      remove: sql.unsafe(`DROP TRIGGER ${name} ON billing_holds`)
    }
  })

const releaseAll = (holds: ReadonlyArray<Hold>) =>
  Effect.flatMap(Billing, (billing) =>
    Effect.forEach(holds, (hold) => billing.settle(hold, release), { concurrency: "unbounded" })
  )

describe.skipIf(!postgresAvailable)("one batch statement", () => {
  it.effect("applies each account's requests in arrival order: an over-budget reserve is refused beside others", () =>
    Effect.gen(function* () {
      const { apply } = makeBatchSql(yield* SqlClient.SqlClient, usd("1"))
      const gpt4 = yield* model("gpt-4")
      const [poor, other] = [newUser("batch-poor"), newUser("batch-other")]
      const small = yield* reserveRequest(poor, 100)
      // Asks for far more than $1 buys: clamped to what is left after `small`.
      const greedy = yield* reserveRequest(poor, 1_000_000)
      const refused = yield* reserveRequest(poor, 100)
      const elsewhere = yield* reserveRequest(other, 100)
      const outcomes = yield* apply([small, greedy, refused, elsewhere])
      expect(outcomes.map((outcome) => outcome.status)).toEqual(["reserved", "reserved", "insufficient", "reserved"])
      const [a, b, c, d] = outcomes.map(reserveResult)
      expect(b!.available).toBeLessThan(minimumCost(refused.reservation))
      expect(c!.hold).toBeUndefined()
      expect(d!.available).toBe(usd("1") - d!.hold!.amount)
      expect(usd((yield* accountOf(poor))!.held)).toBe(a!.hold!.amount + b!.hold!.amount)
      // One transaction opened both accounts and made the three holds.
      expect(yield* commitsOf(poor)).toBe(1)
      expect((yield* ledgerOf(poor)).map((row) => row.kind)).toEqual(["initial"])

      // Settles, renewals and a cancel, in one batch, in arrival order.
      const holdOf = (result: typeof a, key: string, userId: string): Hold => ({
        id: result!.hold!.id,
        key,
        userId,
        requestId: `req-of-${result!.hold!.id}`,
        model: gpt4,
        amount: result!.hold!.amount,
        maxTokens: result!.hold!.maxTokens
      })
      const [smallHold, greedyHold] = [holdOf(a, small.key, poor), holdOf(b, greedy.key, poor)]
      const charge = ledgerCharge(smallHold, chargeOutcome(gpt4, { promptTokens: 10, completionTokens: 20 }))
      const settle = (hold: Hold, withCharge: boolean): LedgerRequest => ({
        _tag: "Settle",
        settle: {
          holdId: hold.id,
          key: hold.key,
          userId: hold.userId,
          requestId: hold.requestId,
          charge: withCharge ? charge : undefined
        }
      })
      const renew = (hold: Hold): LedgerRequest => ({
        _tag: "Renew",
        holdId: hold.id,
        key: hold.key,
        userId: hold.userId,
        expiresAt: new Date(Date.now() + 900_000),
        charge
      })
      const second = yield* apply([
        settle(smallHold, true),
        settle(smallHold, true),
        renew(greedyHold),
        settle(greedyHold, false),
        renew(greedyHold),
        { _tag: "Cancel", key: elsewhere.key, userId: other }
      ])
      expect(second.map((outcome) => outcome.status)).toEqual([
        "charged",
        "already_settled",
        "renewed",
        "released",
        "gone",
        "released"
      ])
      expect(settleResult(second[1]!).charged).toBe(charge!.cost)
      expect((yield* ledgerOf(poor)).map((row) => row.kind)).toEqual(["initial", "charge"])
      yield* expectOnlyInitial(other, "1")
      expect(yield* ledgerViolations([poor, other])).toEqual([])
    }).pipe(Effect.provide(layer()))
  )
})

describe.skipIf(!postgresAvailable)("a batch that only makes holds", () => {
  const commitModeAfter = (requests: ReadonlyArray<LedgerRequest>) =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const { apply } = makeBatchSql(sql, usd("1"))
      return yield* sql.withTransaction(
        Effect.flatMap(apply(requests), () =>
          Effect.map(
            sql<{ readonly mode: string }>`SELECT current_setting('synchronous_commit') AS mode`,
            (rows) => rows[0]!.mode
          )
        )
      )
    })

  it.effect("commits without waiting for its WAL flush; a batch with a settle or a renewal waits", () =>
    Effect.gen(function* () {
      const user = newUser("commit-mode")
      const reserve = yield* reserveRequest(user)
      expect(yield* commitModeAfter([reserve, { _tag: "Cancel", key: reserve.key, userId: user }])).toBe("off")
      const settle: LedgerRequest = {
        _tag: "Settle",
        settle: { holdId: 0n, key: randomUUID(), userId: user, requestId: "req-none", charge: undefined }
      }
      expect(yield* commitModeAfter([yield* reserveRequest(user), settle])).toBe("on")
      const renew: LedgerRequest = {
        _tag: "Renew",
        holdId: 0n,
        key: randomUUID(),
        userId: user,
        expiresAt: new Date(),
        charge: undefined
      }
      expect(yield* commitModeAfter([renew])).toBe("on")
    }).pipe(Effect.provide(layer()))
  )

  it.effect("loses its holds whole in a database crash; their requests are still charged once, by key", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const { apply } = makeBatchSql(sql, usd("1"))
      const gpt4 = yield* model("gpt-4")
      const user = newUser("lost-hold")
      const opening = yield* reserveRequest(user, 1)
      yield* apply([opening])
      yield* apply([{ _tag: "Cancel", key: opening.key, userId: user }])
      const lostRequest = yield* reserveRequest(user)
      // Answered, then lost with its transaction (a crash before the WAL flush); the sequence hands its id out again.
      const rolledBack = yield* Effect.flip(
        sql.withTransaction(Effect.flatMap(apply([lostRequest]), (outcomes) => Effect.fail({ outcomes })))
      )
      if (!("outcomes" in rolledBack)) return yield* Effect.die(rolledBack)
      const lostOutcome = rolledBack.outcomes[0]!
      const lostId = reserveResult(lostOutcome).hold!.id
      yield* sql`SELECT setval('billing_holds_id_seq', ${lostId}, false)`
      const nextRequest = yield* reserveRequest(user)
      const [nextOutcome] = yield* apply([nextRequest])
      expect(reserveResult(nextOutcome!).hold!.id).toBe(lostId)

      const holdOf = (request: ReserveRequest, requestId: string): Hold => ({
        id: lostId,
        key: request.key,
        userId: user,
        requestId,
        model: gpt4,
        amount: reserveResult(request === lostRequest ? lostOutcome : nextOutcome!).hold!.amount,
        maxTokens: 100
      })
      const [lost, next] = [holdOf(lostRequest, "req-lost"), holdOf(nextRequest, "req-next")]
      const charge = (hold: Hold, completionTokens: number) =>
        ledgerCharge(hold, chargeOutcome(gpt4, { promptTokens: 10, completionTokens }))!
      const settle = (hold: Hold, completionTokens: number): LedgerRequest => ({
        _tag: "Settle",
        settle: {
          holdId: hold.id,
          key: hold.key,
          userId: user,
          requestId: hold.requestId,
          charge: charge(hold, completionTokens)
        }
      })
      const renewLost: LedgerRequest = {
        _tag: "Renew",
        holdId: lost.id,
        key: lost.key,
        userId: user,
        expiresAt: new Date(),
        charge: charge(lost, 5)
      }
      const [renewal] = yield* apply([renewLost])
      expect(renewal!.status).toBe("gone")
      // The lost request's settle charges its own cost and leaves the other request's hold (the same id) alone.
      // Sent again (its answer lost): the charge is found by its key, though it names no hold.
      const [lostSettle] = (yield* apply([settle(lost, 20)])).map(settleResult)
      const [lostAgain] = (yield* apply([settle(lost, 20)])).map(settleResult)
      expect(lostSettle!.status).toBe("charged")
      expect(lostSettle!.charged).toBe(charge(lost, 20).cost)
      expect(lostAgain!.status).toBe("already_settled")
      const left = yield* holdsOf(user)
      expect(left.map((hold) => [BigInt(hold.id), hold.metered_cost])).toEqual([[lostId, null]])
      const [nextSettle] = (yield* apply([settle(next, 30)])).map(settleResult)
      expect(nextSettle!.status).toBe("charged")
      expect(nextSettle!.charged).toBe(charge(next, 30).cost)
      const charges = (yield* ledgerOf(user)).filter((row) => row.kind === "charge")
      expect(charges.map((row) => [row.request_id, -usd(row.amount)])).toEqual([
        ["req-lost", charge(lost, 20).cost],
        ["req-next", charge(next, 30).cost]
      ])
      expect(yield* ledgerViolations([user])).toEqual([])
    }).pipe(Effect.provide(layer()))
  )
})

describe.skipIf(!postgresAvailable)("the ledger writer", () => {
  it.effect("coalesces concurrent reserves: fewer commits than requests", () =>
    Effect.gen(function* () {
      const billing = yield* Billing
      const userId = newUser("together")
      yield* billing.balance(userId)
      const reservations = yield* Effect.forEach(Array.from({ length: 50 }), () => reservation(userId, 10))
      const holds = yield* Effect.forEach(reservations, billing.reserve, { concurrency: "unbounded" })
      const commits = yield* commitsOf(userId)
      console.info(`50 concurrent reserves of one account: ${commits} commits`)
      expect(yield* holdsOf(userId)).toHaveLength(50)
      expect(commits).toBeLessThan(50)
      yield* releaseAll(holds)
      expect(yield* ledgerViolations([userId])).toEqual([])
    }).pipe(Effect.provide(layer()))
  )

  it.effect("isolates a request that makes its batch fail: the others of its batch are served", () =>
    Effect.gen(function* () {
      const billing = yield* Billing
      const userId = newUser("poisoned")
      yield* billing.balance(userId)
      const [first, ...queued] = yield* Effect.forEach(Array.from({ length: 6 }), () => reservation(userId, 10))
      const failing = queued[2]!
      const fault = yield* poison(failing.requestId)
      // The first batch waits on the account's lock while the others queue up behind it, into one batch.
      const unlock = yield* lockAccount(userId)
      const head = yield* Effect.forkChild(billing.reserve(first!))
      yield* eventually(Effect.map(blockedBatches, (rows) => rows.length === 1))
      const rest = yield* Effect.forkChild(
        Effect.forEach(queued, (each) => Effect.result(billing.reserve(each)), { concurrency: "unbounded" })
      )
      yield* Effect.repeat(blockedBatches, { times: 2 })
      yield* unlock
      const holds = [yield* Fiber.join(head)]
      for (const [i, result] of (yield* Fiber.join(rest)).entries()) {
        if (queued[i] === failing) expect(Result.isFailure(result) && result.failure._tag).toBe("ServiceUnavailable")
        else holds.push(Result.getOrThrow(result))
      }
      expect(holds).toHaveLength(5)
      // Tried with the others, then in ever smaller parts, then alone.
      expect(yield* fault.attempts).toBeGreaterThan(1)
      expect((yield* holdsOf(userId)).map((hold) => BigInt(hold.id)).sort()).toEqual(holds.map((h) => h.id).sort())
      yield* fault.remove
      yield* releaseAll(holds)
      expect(yield* ledgerViolations([userId])).toEqual([])
    }).pipe(Effect.provide(layer()))
  )

  it.effect("sends a batch whose connection was terminated again: one hold per reserve", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const billing = yield* Billing
      const userId = newUser("terminated")
      yield* billing.balance(userId)
      const reservations = yield* Effect.forEach(Array.from({ length: 5 }), () => reservation(userId, 10))
      const unlock = yield* lockAccount(userId)
      const reserving = yield* Effect.forkChild(Effect.forEach(reservations, billing.reserve, { concurrency: 5 }))
      yield* eventually(Effect.map(blockedBatches, (rows) => rows.length === 1))
      const [{ pid }] = yield* blockedBatches
      yield* sql`SELECT pg_terminate_backend(${pid}::int)`
      yield* eventually(Effect.map(blockedBatches, (rows) => rows.length === 1 && rows[0]!.pid !== pid))
      yield* unlock
      const holds = yield* Fiber.join(reserving)
      const rows = yield* holdsOf(userId)
      expect(rows.map((row) => BigInt(row.id)).sort()).toEqual(holds.map((hold) => hold.id).sort())
      yield* releaseAll(holds)
      expect(yield* ledgerViolations([userId])).toEqual([])
    }).pipe(Effect.provide(layer()))
  )
})

/** A batch statement whose first `lost` answers are lost after its commit; the ones after `down` fail to connect. */
const unreliable = (apply: ReturnType<typeof makeBatchSql>["apply"], options: { lost: number; down: number }) => {
  const connectionLost = new SqlError.SqlError({
    reason: new SqlError.ConnectionError({ cause: new Error("connection reset"), message: "connection lost" })
  })
  let calls = 0
  return (requests: ReadonlyArray<LedgerRequest>) =>
    Effect.suspend(() => {
      const call = ++calls
      if (call > options.lost && call <= options.lost + options.down) return Effect.fail(connectionLost)
      return Effect.flatMap(apply(requests), (outcomes) =>
        call <= options.lost ? Effect.fail(connectionLost) : Effect.succeed(outcomes)
      )
    })
}

describe.skipIf(!postgresAvailable)("a reserve whose answer is lost", () => {
  const writerWith = (options: { lost: number; down: number }) =>
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      makeLedgerWriter({
        apply: unreliable(makeBatchSql(sql, usd("100")).apply, options),
        writers: 1,
        maxBatchSize: 256,
        timeout: Duration.seconds(5)
      })
    )

  it.effect("after its commit is sent again and finds its hold: no second hold", () =>
    Effect.gen(function* () {
      const ledger = yield* writerWith({ lost: 1, down: 0 })
      const userId = newUser("lost-answer")
      const requests = yield* Effect.forEach(Array.from({ length: 3 }), () => reserveRequest(userId))
      const outcomes = yield* Effect.forEach(requests, ledger.submit, { concurrency: "unbounded" })
      expect(outcomes.map((outcome) => outcome.status)).toEqual(["reserved", "reserved", "reserved"])
      const holds = yield* holdsOf(userId)
      expect(holds.map((hold) => BigInt(hold.id)).sort()).toEqual(outcomes.map((outcome) => outcome.hold_id).sort())
      yield* Effect.forEach(requests, ({ key }) => ledger.submit({ _tag: "Cancel", key, userId }))
      yield* expectOnlyInitial(userId, "100")
      expect(yield* ledgerViolations([userId])).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(layer()))
  )

  it.effect("and whose retry fails too fails its caller; its hold is released by key when the database answers", () =>
    Effect.gen(function* () {
      const ledger = yield* writerWith({ lost: 1, down: 1 })
      const userId = newUser("lost-then-down")
      const failure = yield* Effect.flip(ledger.submit(yield* reserveRequest(userId)))
      expect(failure._tag).toBe("LedgerUnavailable")
      yield* eventually(Effect.map(holdsOf(userId), (holds) => holds.length === 0))
      yield* expectOnlyInitial(userId, "100")
    }).pipe(Effect.scoped, Effect.provide(layer()))
  )

  it.effect("while the database stays away is released by the sweeper once it expires", () =>
    Effect.gen(function* () {
      const ledger = yield* writerWith({ lost: 1, down: 1_000 })
      const billing = yield* Billing
      const userId = newUser("lost-for-good")
      const failure = yield* Effect.flip(ledger.submit(yield* reserveRequest(userId)))
      expect(failure._tag).toBe("LedgerUnavailable")
      expect(yield* holdsOf(userId)).toHaveLength(1)
      yield* TestClock.adjust(901_000)
      yield* billing.releaseExpired
      yield* expectOnlyInitial(userId, "100")
    }).pipe(Effect.scoped, Effect.provide(layer()))
  )
})

describe.skipIf(!postgresAvailable)("a reserve whose caller leaves", () => {
  it.effect("after its batch was sent: the hold made for it is released", () =>
    Effect.gen(function* () {
      const billing = yield* Billing
      const userId = newUser("left")
      yield* billing.balance(userId)
      const opened = yield* accountChangedAt(userId)
      const unlock = yield* lockAccount(userId)
      const reserving = yield* Effect.forkChild(billing.reserve(yield* reservation(userId)))
      yield* eventually(Effect.map(blockedBatches, (rows) => rows.length === 1))
      yield* Fiber.interrupt(reserving)
      yield* unlock
      // The reserve commits a hold (held > 0), then its cancel releases it: the account changed, nothing held.
      yield* eventually(
        Effect.map(
          Effect.all([accountChangedAt(userId), accountOf(userId)]),
          ([changedAt, account]) => changedAt !== opened && usd(account!.held) === 0n
        )
      )
      yield* expectOnlyInitial(userId, "100")
    }).pipe(Effect.provide(layer()))
  )

  it.effect("past its bound: it is told billing is unavailable, its statement is cancelled and its key released", () =>
    Effect.gen(function* () {
      const billing = yield* Billing
      const userId = newUser("timed-out")
      yield* billing.balance(userId)
      const unlock = yield* lockAccount(userId)
      const reserving = yield* Effect.forkChild(Effect.flip(billing.reserve(yield* reservation(userId))))
      yield* eventually(Effect.map(blockedBatches, (rows) => rows.length === 1))
      const [sent] = yield* blockedBatches
      yield* TestClock.adjust(6_000)
      expect((yield* Fiber.join(reserving))._tag).toBe("ServiceUnavailable")
      // While the account stays locked the reserve cannot commit; whether it did is unknown to the writer, which
      // sends a cancel by the reservation's key: a second statement waits on the lock.
      yield* eventually(Effect.map(blockedBatches, (rows) => rows.length === 1 && rows[0]!.started !== sent!.started))
      yield* unlock
      yield* eventually(Effect.map(blockedBatches, (rows) => rows.length === 0))
      yield* settleIo
      yield* expectOnlyInitial(userId, "100")
    }).pipe(Effect.provide(layer()))
  )
})
