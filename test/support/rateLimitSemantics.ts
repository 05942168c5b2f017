/**
 * The semantic cases every rate-limit store must pass, driven by TestClock: the in-process
 * store runs them in test/unit, the Redis script (given the TestClock's time instead of
 * TIME) in test/integration.
 */
import { assert, it } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import { TestClock } from "effect/testing"
import { rateLimitHeaders, refusal } from "../../src/http/RateLimit.ts"
import { type Limits, retryAfterSeconds, type Verdict } from "../../src/services/ratelimit/Policy.ts"

export type Consume = (userId: string) => Effect.Effect<Verdict>

/** What a store offers: chat requests (per-user and global), reads (their own per-user limit), and giving back. */
export interface Store {
  readonly consume: Consume
  readonly consumeRead: Consume
  readonly returnGlobal: (verdict: Verdict) => Effect.Effect<void>
}

/** Builds a fresh store (empty windows) with the given limits. */
export type MakeStore = (limits: Limits) => Effect.Effect<Store, never, Scope.Scope>

const second = 1_000_000

export const perMinuteAndHour = (user: number, global: number, reads = user): Limits => ({
  user: { limit: user, windowUs: 60 * second },
  global: { limit: global, windowUs: 3600 * second },
  reads: { limit: reads, windowUs: 60 * second }
})

const repeat = (times: number, consume: Consume, userId: string) =>
  Effect.all(Array.from({ length: times }, () => consume(userId)))

const outcomes = (verdicts: ReadonlyArray<Verdict>) => verdicts.map((verdict) => verdict.outcome)

const countOf = (verdicts: ReadonlyArray<Verdict>, outcome: Verdict["outcome"]) =>
  verdicts.filter((verdict) => verdict.outcome === outcome).length

export const rateLimitSemantics = (make: MakeStore) => {
  it.effect("200 concurrent requests of one user in a fresh window: exactly 60 admitted, 140 refused", () =>
    Effect.gen(function* () {
      const limits = perMinuteAndHour(60, 1000)
      const { consume } = yield* make(limits)
      const verdicts = yield* Effect.all(
        Array.from({ length: 200 }, () => consume("alice")),
        { concurrency: "unbounded" }
      )
      const admitted = verdicts.filter((verdict) => verdict.outcome === "admitted")
      assert.strictEqual(admitted.length, 60)
      assert.strictEqual(countOf(verdicts, "user_limit"), 140)
      // All 200 share one instant; each admitted request was still recorded separately.
      assert.deepStrictEqual(
        admitted.map((verdict) => verdict.userCount).sort((a, b) => a - b),
        Array.from({ length: 60 }, (_, i) => i + 1)
      )
      for (const refused of verdicts.filter((verdict) => verdict.outcome !== "admitted")) {
        assert.strictEqual(refused.userCount, 60)
        assert.strictEqual(refused.globalCount, 60)
        assert.strictEqual(refused.userResetUs, refused.nowUs + 60 * second)
        assert.strictEqual(retryAfterSeconds(refused, limits), 60)
      }
    })
  )

  it.effect("the 61st request is admitted exactly when the oldest leaves the 60-second window", () =>
    Effect.gen(function* () {
      const { consume } = yield* make(perMinuteAndHour(60, 1000))
      assert.strictEqual((yield* consume("alice")).outcome, "admitted")
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(outcomes(yield* repeat(59, consume, "alice")), Array(59).fill("admitted"))

      yield* TestClock.adjust("49999 millis") // 59.999 s after the first request
      const early = yield* consume("alice")
      assert.strictEqual(early.outcome, "user_limit")
      assert.strictEqual(early.userResetUs, 60 * second)

      yield* TestClock.adjust("1 millis") // exactly 60 s: the first request has left
      const onTime = yield* consume("alice")
      assert.strictEqual(onTime.outcome, "admitted")
      assert.strictEqual(onTime.userCount, 60)
      // The next slot frees when the requests made at 10 s leave, at 70 s.
      const next = yield* consume("alice")
      assert.strictEqual(next.outcome, "user_limit")
      assert.strictEqual(next.userResetUs, 70 * second)
    })
  )

  it.effect("waits and resets between whole seconds round up: 59.4 s left is announced as 60, never 59", () =>
    Effect.gen(function* () {
      const limits = perMinuteAndHour(2, 1000)
      const { consume } = yield* make(limits)
      yield* TestClock.adjust("400 millis")
      yield* consume("alice") // leaves the window at 60.4 s
      yield* TestClock.adjust("600 millis")
      yield* consume("alice")
      const refused = yield* consume("alice") // at 1 s: 59.4 s until a slot frees
      assert.strictEqual(refused.outcome, "user_limit")
      assert.strictEqual(refused.userResetUs, 60_400_000)
      assert.strictEqual(retryAfterSeconds(refused, limits), 60)
      assert.strictEqual(refusal(refused, limits).retryAfterSeconds, 60)
      const headers = rateLimitHeaders(refused, limits, "")
      assert.strictEqual(headers["x-ratelimit-reset"], "61") // epoch seconds of 60.4 s, rounded up
      assert.match(headers.ratelimit!, /^"per-user";r=0;t=60, "global";r=998;t=3600$/)
    })
  )

  it.effect("the window slides: no second burst at a minute boundary", () =>
    Effect.gen(function* () {
      const { consume } = yield* make(perMinuteAndHour(60, 1000))
      yield* TestClock.adjust("30 seconds")
      assert.strictEqual(countOf(yield* repeat(60, consume, "alice"), "admitted"), 60)
      yield* TestClock.adjust("30 seconds") // a fixed window would start afresh here
      assert.strictEqual((yield* consume("alice")).outcome, "user_limit")
      yield* TestClock.adjust("29999 millis")
      assert.strictEqual((yield* consume("alice")).outcome, "user_limit")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(countOf(yield* repeat(61, consume, "alice"), "admitted"), 60)
    })
  )

  it.effect("users are limited independently", () =>
    Effect.gen(function* () {
      const { consume } = yield* make(perMinuteAndHour(3, 1000))
      assert.deepStrictEqual(outcomes(yield* repeat(4, consume, "alice")), [
        "admitted",
        "admitted",
        "admitted",
        "user_limit"
      ])
      const bob = yield* consume("bob")
      assert.strictEqual(bob.outcome, "admitted")
      assert.strictEqual(bob.userCount, 1)
      assert.strictEqual(bob.globalCount, 4)
    })
  )

  it.effect("global limit: 1,250 requests from 50 users, exactly 1,000 admitted", () =>
    Effect.gen(function* () {
      const { consume } = yield* make(perMinuteAndHour(60, 1000))
      const users = Array.from({ length: 50 }, (_, i) => `user-${i}`)
      const verdicts = yield* Effect.all(
        users.flatMap((user) => Array.from({ length: 25 }, () => consume(user))),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(countOf(verdicts, "admitted"), 1000)
      assert.strictEqual(countOf(verdicts, "global_limit"), 250)
      yield* TestClock.adjust("3599 seconds")
      assert.strictEqual((yield* consume("newcomer")).outcome, "global_limit")
      yield* TestClock.adjust("1 seconds")
      assert.strictEqual((yield* consume("newcomer")).outcome, "admitted")
    })
  )

  it.effect("a request refused by one limit consumes neither", () =>
    Effect.gen(function* () {
      const limits = perMinuteAndHour(3, 5)
      const { consume } = yield* make(limits)
      yield* repeat(3, consume, "alice")
      const aliceRefused = yield* consume("alice")
      assert.strictEqual(aliceRefused.outcome, "user_limit")
      assert.strictEqual(aliceRefused.globalCount, 3, "the user-limit refusal did not consume the global limit")

      yield* repeat(2, consume, "bob")
      const bobRefused = yield* consume("bob")
      assert.strictEqual(bobRefused.outcome, "global_limit")
      assert.strictEqual(bobRefused.userCount, 2, "the global refusal did not consume bob's limit")

      yield* TestClock.adjust("60 seconds") // alice's window is empty, the hour is not
      const stillGlobal = yield* consume("alice")
      assert.strictEqual(stillGlobal.outcome, "global_limit")
      assert.strictEqual(stillGlobal.userCount, 0)
      assert.strictEqual(stillGlobal.userResetUs, stillGlobal.nowUs, "an empty window resets now")
      assert.strictEqual(retryAfterSeconds(stillGlobal, limits), 3540)

      yield* TestClock.adjust("3540 seconds")
      const admitted = yield* consume("alice")
      assert.strictEqual(admitted.outcome, "admitted")
      assert.strictEqual(admitted.globalCount, 1)
    })
  )

  it.effect("a client refused by both limits is told to wait for both", () =>
    Effect.gen(function* () {
      const limits = perMinuteAndHour(1, 1)
      const { consume } = yield* make(limits)
      yield* consume("alice")
      yield* TestClock.adjust("1 seconds")
      const refused = yield* consume("alice")
      assert.strictEqual(refused.outcome, "user_limit")
      assert.strictEqual(retryAfterSeconds(refused, limits), 3599)
    })
  )

  it.effect("reads have a per-user limit of their own and never count globally", () =>
    Effect.gen(function* () {
      const store = yield* make(perMinuteAndHour(3, 2, 2))
      const reads = yield* repeat(3, store.consumeRead, "alice")
      assert.deepStrictEqual(outcomes(reads), ["admitted", "admitted", "user_limit"])
      assert.deepStrictEqual(
        reads.map((verdict) => [verdict.userCount, verdict.globalCount, verdict.globalEntry]),
        [
          [1, 0, undefined],
          [2, 0, undefined],
          [2, 0, undefined]
        ]
      )
      assert.strictEqual(reads[2]!.userResetUs, reads[2]!.nowUs + 60 * second)
      // Many users' reads leave the global limit (2 an hour) untouched, and alice's chat limit too.
      yield* Effect.all(Array.from({ length: 10 }, (_, i) => store.consumeRead(`reader-${i}`)))
      const chat = yield* store.consume("alice")
      assert.strictEqual(chat.outcome, "admitted")
      assert.strictEqual(chat.userCount, 1)
      assert.strictEqual(chat.globalCount, 1)
      // ...and chat requests leave the reads limit untouched.
      yield* TestClock.adjust("60 seconds")
      yield* store.consume("bob")
      assert.strictEqual((yield* store.consumeRead("bob")).userCount, 1)
    })
  )

  it.effect("a returned global entry frees its global slot and keeps the user's", () =>
    Effect.gen(function* () {
      const store = yield* make(perMinuteAndHour(3, 2))
      const first = yield* store.consume("alice")
      yield* store.consume("alice")
      assert.isString(first.globalEntry)
      assert.strictEqual((yield* store.consume("bob")).outcome, "global_limit")
      yield* store.returnGlobal(first)
      const bob = yield* store.consume("bob")
      assert.strictEqual(bob.outcome, "admitted")
      assert.strictEqual(bob.globalCount, 2)
      // alice's two requests still count against her: one more, then refused.
      yield* store.returnGlobal(bob)
      assert.strictEqual((yield* store.consume("alice")).userCount, 3)
      assert.strictEqual((yield* store.consume("alice")).outcome, "user_limit")
      // A refusal has nothing to give back.
      assert.isUndefined((yield* store.consume("carol")).globalEntry)
    })
  )

  it.effect("giving back the oldest global entry moves the global reset to the next one", () =>
    Effect.gen(function* () {
      const limits = perMinuteAndHour(60, 2)
      const store = yield* make(limits)
      const early = yield* store.consume("alice")
      yield* TestClock.adjust("10 seconds")
      yield* store.consume("alice")
      yield* store.returnGlobal(early)
      yield* store.consume("bob")
      const refused = yield* store.consume("carol")
      assert.strictEqual(refused.outcome, "global_limit")
      assert.strictEqual(refused.globalResetUs, 3610 * second)
      assert.strictEqual(retryAfterSeconds(refused, limits), 3600)
    })
  )

  it.effect("100 concurrent requests against a global limit of 50, all given back: the global log is empty", () =>
    Effect.gen(function* () {
      const store = yield* make(perMinuteAndHour(1000, 50))
      const verdicts = yield* Effect.all(
        Array.from({ length: 100 }, (_, i) => store.consume(`user-${i % 7}`)),
        { concurrency: "unbounded" }
      )
      const admitted = verdicts.filter((verdict) => verdict.outcome === "admitted")
      assert.strictEqual(admitted.length, 50)
      yield* Effect.all(
        admitted.map((verdict) => store.returnGlobal(verdict)),
        { concurrency: "unbounded" }
      )
      const next = yield* store.consume("user-0")
      assert.strictEqual(next.outcome, "admitted")
      assert.strictEqual(next.globalCount, 1)
    })
  )
}

/** What a store offers for the token limit: chat requests with their bound, and the corrections at settle. */
export interface TokenStore {
  readonly consume: (userId: string, tokens: number) => Effect.Effect<Verdict>
  readonly consumeRead: Consume
  /** The correction at settle: the request's tokens become `used`. */
  readonly settle: (userId: string, verdict: Verdict, used: number) => Effect.Effect<void>
  /** A request that never reached an upstream: its global entry and its tokens are given back. */
  readonly giveBack: (userId: string, verdict: Verdict) => Effect.Effect<void>
}

export type MakeTokenStore = (limits: Limits) => Effect.Effect<TokenStore, never, Scope.Scope>

/** Per-minute and per-hour request limits, with a per-minute token limit. */
export const withTokens = (tokens: number, user = 1000, global = 100_000): Limits => ({
  ...perMinuteAndHour(user, global),
  tokens: { limit: tokens, windowUs: 60 * second }
})

const tokensOf = (verdict: Verdict) => {
  assert.isDefined(verdict.tokens, "a chat verdict reports the tokens when the limit is on")
  return verdict.tokens!
}

export const tokenLimitSemantics = (make: MakeTokenStore) => {
  it.effect("100 concurrent requests of 30 tokens against 1,000: exactly 33 admitted, and never more", () =>
    Effect.gen(function* () {
      const { consume } = yield* make(withTokens(1000))
      const verdicts = yield* Effect.all(
        Array.from({ length: 100 }, () => consume("alice", 30)),
        { concurrency: "unbounded" }
      )
      const admitted = verdicts.filter((verdict) => verdict.outcome === "admitted")
      assert.strictEqual(admitted.length, 33)
      assert.strictEqual(countOf(verdicts, "token_limit"), 67)
      // Each admission saw the sum of the ones before it: no two read the same total.
      assert.deepStrictEqual(
        admitted.map((verdict) => tokensOf(verdict).count).sort((a, b) => a - b),
        Array.from({ length: 33 }, (_, i) => 30 * (i + 1))
      )
      for (const refused of verdicts.filter((verdict) => verdict.outcome !== "admitted")) {
        assert.deepStrictEqual(
          [tokensOf(refused).count, tokensOf(refused).requested, tokensOf(refused).entry],
          [990, 30, undefined]
        )
        // A request refused for its tokens consumes no request slot either.
        assert.strictEqual(refused.userCount, 33)
      }
    })
  )

  it.effect("mixed sizes from many concurrent requests: the admitted bounds never sum past the limit", () =>
    Effect.gen(function* () {
      const { consume } = yield* make(withTokens(5000))
      const sizes = Array.from({ length: 120 }, (_, i) => 1 + ((i * 37) % 211))
      const verdicts = yield* Effect.all(
        sizes.map((size) => consume("alice", size)),
        { concurrency: "unbounded" }
      )
      const admitted = verdicts.filter((verdict) => verdict.outcome === "admitted")
      const sum = admitted.reduce((total, verdict) => total + tokensOf(verdict).requested, 0)
      assert.isAtMost(sum, 5000)
      assert.strictEqual(Math.max(...admitted.map((verdict) => tokensOf(verdict).count)), sum)
      // Every refusal was right when it was decided: its bound did not fit in what was held then.
      for (const refused of verdicts.filter((verdict) => verdict.outcome === "token_limit")) {
        assert.isAbove(tokensOf(refused).count + tokensOf(refused).requested, 5000)
      }
    })
  )

  it.effect("the token window slides: tokens leave exactly one minute after their request was admitted", () =>
    Effect.gen(function* () {
      const limits = withTokens(1000)
      const { consume } = yield* make(limits)
      assert.strictEqual((yield* consume("alice", 600)).outcome, "admitted")
      yield* TestClock.adjust("10 seconds")
      const full = yield* consume("alice", 400)
      assert.strictEqual(tokensOf(full).count, 1000)
      assert.strictEqual(tokensOf(full).resetUs, 60 * second, "the oldest tokens leave at 60 s")
      assert.strictEqual(rateLimitHeaders(full, limits, "")["x-ratelimit-remaining-tokens"], "0")
      assert.strictEqual(rateLimitHeaders(full, limits, "")["x-ratelimit-reset-tokens"], "50s")

      yield* TestClock.adjust("20 seconds") // at 30 s
      const refused = yield* consume("alice", 500)
      assert.strictEqual(refused.outcome, "token_limit")
      // 500 fit once the 600 of the first request leave, at 60 s.
      assert.strictEqual(tokensOf(refused).resetUs, 60 * second)
      assert.strictEqual(retryAfterSeconds(refused, limits), 30)
      assert.match(
        refusal(refused, limits).message,
        /^Rate limit exceeded\. Try again in 30 seconds\. The per-user limit of 1000 tokens per minute is reached: this request may use up to 500 tokens, and 1000 are in use\.$/
      )
      // 700 fit only when the 400 leave too, at 70 s.
      const larger = yield* consume("alice", 700)
      assert.strictEqual(tokensOf(larger).resetUs, 70 * second)
      assert.strictEqual(retryAfterSeconds(larger, limits), 40)

      yield* TestClock.adjust("29999 millis") // at 59.999 s
      assert.strictEqual((yield* consume("alice", 1)).outcome, "token_limit")
      yield* TestClock.adjust("1 millis") // exactly 60 s
      const onTime = yield* consume("alice", 600)
      assert.strictEqual(onTime.outcome, "admitted")
      assert.strictEqual(tokensOf(onTime).count, 1000)
    })
  )

  it.effect("a large request fits when enough small ones have left: 40 of 25 tokens a second apart, then 1,000", () =>
    Effect.gen(function* () {
      const limits = withTokens(1000)
      const { consume } = yield* make(limits)
      for (let i = 0; i < 40; i++) {
        assert.strictEqual((yield* consume("alice", 25)).outcome, "admitted")
        yield* TestClock.adjust("1 second")
      }
      // At 40 s: all 40 must leave, the last at 39 s + 60 s.
      const refused = yield* consume("alice", 1000)
      assert.strictEqual(refused.outcome, "token_limit")
      assert.strictEqual(tokensOf(refused).resetUs, 99 * second)
      assert.strictEqual(retryAfterSeconds(refused, limits), 59)
      // 500 fit once 20 have left, at 19 s + 60 s.
      assert.strictEqual(tokensOf(yield* consume("alice", 500)).resetUs, 79 * second)
    })
  )

  it.effect("the correction at settle gives back what the bound held beyond the usage, in the same window", () =>
    Effect.gen(function* () {
      const { consume, settle } = yield* make(withTokens(1000))
      const first = yield* consume("alice", 800)
      yield* settle("alice", first, 100)
      const next = yield* consume("alice", 900)
      assert.strictEqual(next.outcome, "admitted")
      assert.strictEqual(tokensOf(next).count, 1000)
      // The corrected 100 still leave with their request, at 60 s, not later.
      yield* TestClock.adjust("60 seconds")
      assert.strictEqual(tokensOf(yield* consume("alice", 100)).count, 100, "only the 900 of the second are gone too")
    })
  )

  it.effect("usage beyond the bound is taken, and a correction after the window has passed changes nothing", () =>
    Effect.gen(function* () {
      const { consume, settle } = yield* make(withTokens(1000))
      const first = yield* consume("alice", 100)
      yield* settle("alice", first, 300)
      const refused = yield* consume("alice", 701)
      assert.strictEqual(refused.outcome, "token_limit")
      assert.strictEqual(tokensOf(refused).count, 300)
      assert.strictEqual((yield* consume("alice", 700)).outcome, "admitted")

      yield* TestClock.adjust("60 seconds")
      const late = yield* consume("alice", 500)
      yield* TestClock.adjust("60 seconds")
      // A stream that settles after its entry left the window cannot bring its tokens back into it.
      yield* settle("alice", late, 1000)
      const after = yield* consume("alice", 1000)
      assert.strictEqual(after.outcome, "admitted")
      assert.strictEqual(tokensOf(after).count, 1000)
    })
  )

  it.effect("a request that never reached an upstream gives its tokens and its global entry back", () =>
    Effect.gen(function* () {
      const { consume, giveBack } = yield* make(withTokens(1000, 10, 2))
      const unserved = yield* consume("alice", 1000)
      yield* giveBack("alice", unserved)
      const served = yield* consume("alice", 1000)
      assert.strictEqual(served.outcome, "admitted")
      assert.strictEqual(served.globalCount, 1)
      assert.strictEqual(served.userCount, 2, "it still counts against its user's request limit")
    })
  )

  it.effect("refusals hold no tokens, requests priced at nothing hold none, and other users are apart", () =>
    Effect.gen(function* () {
      const { consume, consumeRead } = yield* make(withTokens(1000, 2, 100))
      yield* consume("alice", 10)
      yield* consume("alice", 10)
      const overRequests = yield* consume("alice", 10)
      assert.strictEqual(overRequests.outcome, "user_limit")
      assert.strictEqual(tokensOf(overRequests).count, 20)

      // A request refused before it was priced (a 400) counts with no tokens: no entry to correct.
      const unpriced = yield* consume("bob", 0)
      assert.strictEqual(unpriced.outcome, "admitted")
      assert.deepStrictEqual(tokensOf(unpriced), { requested: 0, count: 0, resetUs: unpriced.nowUs })
      const bob = yield* consume("bob", 1000)
      assert.strictEqual(bob.outcome, "admitted")
      assert.isString(tokensOf(bob).entry)
      // Reads know nothing of tokens.
      assert.isUndefined((yield* consumeRead("bob")).tokens)
    })
  )
}
