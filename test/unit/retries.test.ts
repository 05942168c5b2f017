import { describe, expect, it } from "@effect/vitest"
import { Effect, Random, Stream } from "effect"
import type { RawEnv } from "../../src/Config.ts"
import { GatewayTimeout, ServiceUnavailable, ValidationError } from "../../src/domain/errors.ts"
import { TimeoutReason } from "../../src/domain/ProviderError.ts"
import { ChatCompletions } from "../../src/services/chat/ChatCompletions.ts"
import { chatInput, chatStack } from "../support/chatStack.ts"
import {
  answer,
  badRequest,
  breakAfterFirstChunk,
  connectionRefused,
  fail,
  hang,
  makeScriptedProvider,
  overloaded,
  rateLimited,
  type ScriptedProvider
} from "../support/scriptedProvider.ts"
import { failureOf, runToEnd, successOf } from "../support/testClock.ts"

/** Runs `body` against the chat services over a fresh scripted provider; `other` has no fallback. */
const withChat = <A, E>(
  env: RawEnv,
  body: (chat: ChatCompletions["Service"], upstream: ScriptedProvider) => Effect.Effect<A, E>
) => {
  const upstream = makeScriptedProvider()
  return Effect.gen(function* () {
    return yield* body(yield* ChatCompletions, upstream)
  }).pipe(Effect.provide(chatStack(upstream, env)))
}

const complete = (chat: ChatCompletions["Service"], model = "other") => runToEnd(chat.complete(chatInput(model)))

/**
 * A first-byte allowance and an output rate under which no completion budget stretches the
 * configured bounds (see completionTimeouts.test.ts for the stretching itself).
 */
const unstretched = { OPENAI_FIRST_BYTE_TIMEOUT_SECONDS: "1", UPSTREAM_MIN_OUTPUT_TOKENS_PER_SECOND: "10000" }

describe("retries", () => {
  it.effect("waits min(max_delay, base_delay × base^n) between attempts, exactly, with jitter off", () =>
    withChat({ RETRY_MAX_ATTEMPTS: "5" }, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("other", overloaded(), overloaded(), overloaded(), overloaded(), answer)
        const ended = yield* complete(chat)
        expect(successOf(ended.result).completion.choices[0]!.message.content).toBe("answer from other")
        expect(upstream.callTimes("other")).toEqual([0, 1_000, 3_000, 7_000, 15_000])
      })
    )
  )

  it.effect("caps every delay at RETRY_MAX_DELAY", () =>
    withChat({ RETRY_MAX_ATTEMPTS: "4", RETRY_EXPONENTIAL_BASE: "10", RETRY_MAX_DELAY: "5" }, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("other", overloaded())
        const ended = yield* complete(chat)
        // 1 s, then 10 s and 100 s capped to 5 s.
        expect(upstream.callTimes("other")).toEqual([0, 1_000, 6_000, 11_000])
        expect(failureOf(ended.result)).toBeInstanceOf(ServiceUnavailable)
        expect(ended.endedAt).toBe(11_000)
      })
    )
  )

  it.effect("makes RETRY_MAX_ATTEMPTS attempts in all, then answers 503", () =>
    withChat({}, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("other", overloaded(502))
        const ended = yield* complete(chat)
        expect(upstream.calls("other")).toBe(3)
        const error = failureOf(ended.result)
        expect(error).toBeInstanceOf(ServiceUnavailable)
        expect(error.message).toBe("LLM service temporarily unavailable")
      })
    )
  )

  it.effect("answers on the third attempt when the upstream fails twice (a dropped connection, a 529)", () =>
    withChat({}, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("other", connectionRefused, overloaded(529), answer)
        const ended = yield* complete(chat)
        expect(successOf(ended.result).servedBy.model.id).toBe("other")
        expect(upstream.callTimes("other")).toEqual([0, 1_000, 3_000])
      })
    )
  )

  it.effect("waits at least the upstream's Retry-After, and the backoff when that is longer", () =>
    withChat({}, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("other", rateLimited(7), rateLimited(0.5), answer)
        yield* complete(chat)
        expect(upstream.callTimes("other")).toEqual([0, 7_000, 9_000])
      })
    )
  )

  it.effect("honours an overloaded upstream's Retry-After too (a 503 or 529 may carry one)", () =>
    withChat({}, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("other", overloaded(503, 4), answer)
        yield* complete(chat)
        expect(upstream.callTimes("other")).toEqual([0, 4_000])
      })
    )
  )

  it.effect("retries when Retry-After is exactly RETRY_MAX_DELAY (the cap is a wait it accepts)", () =>
    withChat({ RETRY_MAX_DELAY: "5" }, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("other", rateLimited(5), answer)
        const ended = yield* complete(chat)
        expect(upstream.callTimes("other")).toEqual([0, 5_000])
        expect(successOf(ended.result).completion.choices[0]!.message.content).toBe("answer from other")
      })
    )
  )

  it.effect("fails at once when Retry-After exceeds RETRY_MAX_DELAY, passing it on to the client", () =>
    withChat({}, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("other", rateLimited(120), answer)
        const ended = yield* complete(chat)
        expect(upstream.calls("other")).toBe(1)
        expect(ended.endedAt).toBe(0)
        expect(failureOf(ended.result)).toMatchObject({ _tag: "ServiceUnavailable", retryAfterSeconds: 120 })
      })
    )
  )

  it.effect("never retries a request the upstream refused (400)", () =>
    withChat({}, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("other", badRequest, answer)
        const ended = yield* complete(chat)
        expect(upstream.calls("other")).toBe(1)
        const error = failureOf(ended.result)
        expect(error).toBeInstanceOf(ValidationError)
        expect(error.param).toBe("messages")
      })
    )
  )

  it.effect("makes one attempt when RETRY_ENABLED is false", () =>
    withChat({ RETRY_ENABLED: "false" }, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("other", overloaded(), answer)
        expect(failureOf((yield* complete(chat)).result)).toBeInstanceOf(ServiceUnavailable)
        expect(upstream.calls("other")).toBe(1)
      })
    )
  )

  it.effect("jitters each delay within [delay/2, delay], so the cap stays a cap", () =>
    withChat(
      { RETRY_JITTER: "true", RETRY_MAX_ATTEMPTS: "6", RETRY_MAX_DELAY: "4", CIRCUIT_BREAKER_FAILURE_THRESHOLD: "10" },
      (chat, upstream) =>
        Effect.gen(function* () {
          upstream.script("other", overloaded())
          yield* complete(chat).pipe(Random.withSeed("jitter"))
          const times = upstream.callTimes("other")
          const delays = times.slice(1).map((time, index) => time - times[index]!)
          const nominal = [1_000, 2_000, 4_000, 4_000, 4_000]
          expect(delays).toHaveLength(5)
          delays.forEach((delay, index) => {
            expect(delay).toBeGreaterThanOrEqual(nominal[index]! / 2)
            expect(delay).toBeLessThanOrEqual(nominal[index]!)
          })
          expect(delays).not.toEqual(nominal)
        })
    )
  )

  it.effect("gives up instead of waiting past the request's deadline", () =>
    withChat({ ...unstretched, RETRY_MAX_ATTEMPTS: "10", UPSTREAM_REQUEST_TIMEOUT_SECONDS: "10" }, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("other", overloaded())
        const ended = yield* complete(chat)
        // The next wait (8 s, from 7 s) would end past 10 s: the client gets the 503 now, not a 504 later.
        expect(upstream.callTimes("other")).toEqual([0, 1_000, 3_000, 7_000])
        expect(ended.endedAt).toBe(7_000)
        expect(failureOf(ended.result)).toBeInstanceOf(ServiceUnavailable)
      })
    )
  )

  it.effect("gives up when the wait would end exactly at the deadline: no time would be left to try", () =>
    withChat({ ...unstretched, RETRY_MAX_ATTEMPTS: "10", UPSTREAM_REQUEST_TIMEOUT_SECONDS: "15" }, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("other", overloaded())
        const ended = yield* complete(chat)
        // The next wait (8 s, from 7 s) ends at 15 s, the deadline itself: the 503 now, not a 504 at 15 s.
        expect(upstream.callTimes("other")).toEqual([0, 1_000, 3_000, 7_000])
        expect(ended.endedAt).toBe(7_000)
        expect(failureOf(ended.result)).toBeInstanceOf(ServiceUnavailable)
      })
    )
  )
})

describe("timeouts", () => {
  it.effect("answers a hanging upstream with 504 exactly at the request's deadline", () =>
    withChat(
      { ...unstretched, UPSTREAM_ATTEMPT_TIMEOUT_SECONDS: "10", UPSTREAM_REQUEST_TIMEOUT_SECONDS: "25" },
      (chat, upstream) =>
        Effect.gen(function* () {
          upstream.script("other", hang)
          const ended = yield* complete(chat)
          // Attempts time out at 10 s and 21 s; the third (from 23 s) gets what is left: 2 s.
          expect(upstream.callTimes("other")).toEqual([0, 11_000, 23_000])
          expect(ended.endedAt).toBe(25_000)
          expect(failureOf(ended.result)).toBeInstanceOf(GatewayTimeout)
        })
    )
  )

  it.effect("retries an attempt that timed out", () =>
    withChat({ ...unstretched, UPSTREAM_ATTEMPT_TIMEOUT_SECONDS: "10" }, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("other", hang, answer)
        const ended = yield* complete(chat)
        expect(successOf(ended.result).completion.model).toBe("other")
        expect(ended.endedAt).toBe(11_000)
      })
    )
  )

  it.effect("answers an upstream timeout with 504 once retries are spent", () =>
    withChat({ RETRY_MAX_ATTEMPTS: "2" }, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("other", fail(new TimeoutReason({ message: "read timed out" })))
        expect(failureOf((yield* complete(chat)).result)).toBeInstanceOf(GatewayTimeout)
        expect(upstream.calls("other")).toBe(2)
      })
    )
  )
})

describe("streams", () => {
  it.effect("retries a stream that fails before its first chunk", () =>
    withChat({}, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("other", overloaded(), answer)
        const ended = yield* runToEnd(
          Effect.scoped(Effect.flatMap(chat.stream(chatInput("other")), ({ chunks }) => Stream.runCollect(chunks)))
        )
        expect(successOf(ended.result)).toHaveLength(3)
        expect(upstream.callTimes("other")).toEqual([0, 1_000])
      })
    )
  )

  it.effect("never retries once the first chunk is out: the stream fails instead", () =>
    withChat({}, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("other", breakAfterFirstChunk, answer)
        const received: Array<unknown> = []
        const ended = yield* runToEnd(
          Effect.scoped(
            Effect.flatMap(chat.stream(chatInput("other")), ({ chunks }) =>
              Stream.runForEach(chunks, (chunk) => Effect.sync(() => received.push(chunk)))
            )
          )
        )
        expect(received).toHaveLength(1)
        expect(failureOf(ended.result)).toBeInstanceOf(ServiceUnavailable)
        expect(upstream.calls("other")).toBe(1)
      })
    )
  )

  it.effect("releases a timed-out stream attempt at once, while the request goes on", () =>
    withChat({ UPSTREAM_ATTEMPT_TIMEOUT_SECONDS: "10" }, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("other", hang, answer)
        let releasedBeforeRetry = -1
        const ended = yield* runToEnd(
          Effect.scoped(
            Effect.gen(function* () {
              const { chunks } = yield* chat.stream(chatInput("other"))
              releasedBeforeRetry = upstream.releasedStreams()
              return yield* Stream.runCollect(chunks)
            })
          )
        )
        expect(successOf(ended.result)).toHaveLength(3)
        // The hung attempt was released when it timed out, not when the request's scope closed.
        expect(releasedBeforeRetry).toBe(1)
        expect(upstream.callTimes("other")).toEqual([0, 11_000])
      })
    )
  )
})
