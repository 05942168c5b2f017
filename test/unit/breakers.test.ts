import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, type Result } from "effect"
import { TestClock } from "effect/testing"
import type { RawEnv } from "../../src/Config.ts"
import { type ChatError, ServiceUnavailable } from "../../src/domain/errors.ts"
import { ChatCompletions } from "../../src/services/chat/ChatCompletions.ts"
import { CircuitBreakers } from "../../src/services/resilience/CircuitBreakers.ts"
import type { ResilienceEvent } from "../../src/services/resilience/ResilienceEvents.ts"
import { chatInput, chatStack } from "../support/chatStack.ts"
import {
  answer,
  badRequest,
  hang,
  makeScriptedProvider,
  overloaded,
  type ScriptedProvider
} from "../support/scriptedProvider.ts"
import { failureOf, runToEnd, successOf } from "../support/testClock.ts"

type ChatOutcome = Effect.Success<ReturnType<ChatCompletions["Service"]["complete"]>>

interface Harness {
  readonly upstream: ScriptedProvider
  /** One whole request for `model`, at the current clock time (with one attempt, nothing waits). */
  readonly request: (model?: string) => Effect.Effect<Result.Result<ChatOutcome, ChatError>>
  readonly chat: ChatCompletions["Service"]
  readonly stateOf: (model: string) => Effect.Effect<{ readonly state: string; readonly failureCount: number }>
  readonly events: ReadonlyArray<ResilienceEvent>
}

/** One attempt per request unless a test says otherwise, so that requests and failures match one to one. */
const withBreakers = <A, E>(env: RawEnv, body: (harness: Harness) => Effect.Effect<A, E>) => {
  const upstream = makeScriptedProvider()
  const events: Array<ResilienceEvent> = []
  return Effect.gen(function* () {
    const chat = yield* ChatCompletions
    const breakers = yield* CircuitBreakers
    return yield* body({
      upstream,
      chat,
      events,
      request: (model = "other") => Effect.result(chat.complete(chatInput(model))),
      stateOf: (model) =>
        Effect.map(breakers.snapshot, (all) => {
          const found = all.find((breaker) => breaker.model === model)
          if (found === undefined) throw new Error(`no breaker for ${model}`)
          return found
        })
    })
  }).pipe(Effect.provide(chatStack(upstream, { RETRY_MAX_ATTEMPTS: "1", ...env }, events)))
}

const failingRequests = (harness: Harness, times: number, model = "other") =>
  Effect.forEach(Array.from({ length: times }), () => harness.request(model), { discard: true })

describe("circuit breakers", () => {
  it.effect("open on the 5th consecutive failure, not the 4th, and then refuse without calling upstream", () =>
    withBreakers({}, (harness) =>
      Effect.gen(function* () {
        harness.upstream.script("other", overloaded())
        yield* failingRequests(harness, 4)
        expect(yield* harness.stateOf("other")).toMatchObject({ state: "closed", failureCount: 4 })
        yield* failingRequests(harness, 1)
        expect(yield* harness.stateOf("other")).toMatchObject({ state: "open", failureCount: 5 })

        const refused = failureOf(yield* harness.request())
        expect(refused).toBeInstanceOf(ServiceUnavailable)
        expect(refused).toMatchObject({ message: "LLM service temporarily unavailable", retryAfterSeconds: 60 })
        expect(harness.upstream.calls("other")).toBe(5)
      })
    )
  )

  it.effect("tell a refused client the time left until the breaker lets calls through", () =>
    withBreakers({}, (harness) =>
      Effect.gen(function* () {
        harness.upstream.script("other", overloaded())
        yield* failingRequests(harness, 5)
        yield* TestClock.adjust(20_500)
        expect(failureOf(yield* harness.request())).toMatchObject({ retryAfterSeconds: 40 })
      })
    )
  )

  it.effect("half-open exactly at the recovery timeout, and a successful probe closes them", () =>
    withBreakers({}, (harness) =>
      Effect.gen(function* () {
        harness.upstream.script("other", overloaded(), overloaded(), overloaded(), overloaded(), overloaded(), answer)
        yield* failingRequests(harness, 5)
        yield* TestClock.adjust(59_999)
        expect((yield* harness.stateOf("other")).state).toBe("open")
        expect(failureOf(yield* harness.request())).toMatchObject({ retryAfterSeconds: 1 })
        expect(harness.upstream.calls("other")).toBe(5)

        yield* TestClock.adjust(1)
        expect((yield* harness.stateOf("other")).state).toBe("half_open")
        successOf(yield* harness.request())
        expect(harness.upstream.calls("other")).toBe(6)
        expect(yield* harness.stateOf("other")).toMatchObject({ state: "closed", failureCount: 0 })
      })
    )
  )

  it.effect("reopen for a whole recovery timeout when the probe fails", () =>
    withBreakers({}, (harness) =>
      Effect.gen(function* () {
        harness.upstream.script("other", overloaded())
        yield* failingRequests(harness, 5)
        yield* TestClock.adjust(60_000)
        expect(failureOf(yield* harness.request())).toBeInstanceOf(ServiceUnavailable)
        expect(harness.upstream.calls("other")).toBe(6)
        expect(yield* harness.stateOf("other")).toMatchObject({ state: "open", lastFailureAt: 60_000 })
        expect(failureOf(yield* harness.request())).toMatchObject({ retryAfterSeconds: 60 })
        yield* TestClock.adjust(60_000)
        expect((yield* harness.stateOf("other")).state).toBe("half_open")
      })
    )
  )

  it.effect.each([
    { probes: 1, called: 1 },
    { probes: 2, called: 2 }
  ])("admit only $probes probe(s) among concurrent requests while half-open", ({ probes, called }) =>
    withBreakers({ CIRCUIT_BREAKER_HALF_OPEN_PROBES: String(probes) }, (harness) =>
      Effect.gen(function* () {
        harness.upstream.script("other", overloaded(), overloaded(), overloaded(), overloaded(), overloaded(), hang)
        yield* failingRequests(harness, 5)
        yield* TestClock.adjust(60_000)
        // Four requests at once; the probes hang, so none of them can close the breaker meanwhile.
        const fibers = yield* Effect.forEach(Array.from({ length: 4 }), () =>
          Effect.forkChild(Effect.result(harness.chat.complete(chatInput("other"))))
        )
        yield* TestClock.adjust(1)
        expect(harness.upstream.calls("other")).toBe(5 + called)
        // The others were refused at once with a 503; the probes are still waiting on the upstream.
        const ended = fibers.map((fiber) => fiber.pollUnsafe()).filter((exit) => exit !== undefined)
        expect(ended).toHaveLength(4 - called)
        for (const exit of ended) {
          expect(exit._tag === "Success" && failureOf(exit.value)).toBeInstanceOf(ServiceUnavailable)
        }
        yield* Effect.forEach(fibers, Fiber.interrupt)
      })
    )
  )

  it.effect("free the probe's slot when the probing client goes away", () =>
    withBreakers({}, (harness) =>
      Effect.gen(function* () {
        harness.upstream.script(
          "other",
          overloaded(),
          overloaded(),
          overloaded(),
          overloaded(),
          overloaded(),
          hang,
          answer
        )
        yield* failingRequests(harness, 5)
        yield* TestClock.adjust(60_000)
        const probe = yield* Effect.forkChild(harness.chat.complete(chatInput("other")))
        yield* TestClock.adjust(1)
        yield* Fiber.interrupt(probe)
        successOf(yield* harness.request())
        expect(yield* harness.stateOf("other")).toMatchObject({ state: "closed" })
      })
    )
  )

  it.effect("are independent per model", () =>
    withBreakers({}, (harness) =>
      Effect.gen(function* () {
        harness.upstream.script("other", overloaded())
        yield* failingRequests(harness, 5)
        expect((yield* harness.stateOf("other")).state).toBe("open")
        expect(successOf(yield* harness.request("backup"))).toBeDefined()
        expect(yield* harness.stateOf("backup")).toMatchObject({ state: "closed", failureCount: 0 })
      })
    )
  )

  it.effect("count every failed attempt, and an opening breaker ends the retries", () =>
    withBreakers({ RETRY_MAX_ATTEMPTS: "3" }, (harness) =>
      Effect.gen(function* () {
        harness.upstream.script("other", overloaded())
        yield* runToEnd(harness.chat.complete(chatInput("other")), 3_000)
        expect(yield* harness.stateOf("other")).toMatchObject({ state: "closed", failureCount: 3 })
        const second = yield* runToEnd(harness.chat.complete(chatInput("other")), 1_000)
        // Its second attempt opened the breaker: no third attempt, no wait for it.
        expect(harness.upstream.callTimes("other")).toEqual([0, 1_000, 3_000, 3_000, 4_000])
        expect(second.endedAt).toBe(4_000)
        expect((yield* harness.stateOf("other")).state).toBe("open")
      })
    )
  )

  it.effect("never count requests the upstream refused as the client's fault", () =>
    withBreakers({}, (harness) =>
      Effect.gen(function* () {
        harness.upstream.script("other", badRequest)
        yield* failingRequests(harness, 10)
        expect(yield* harness.stateOf("other")).toMatchObject({ state: "closed", failureCount: 0 })
        expect(harness.upstream.calls("other")).toBe(10)
      })
    )
  )

  it.effect("never open when CIRCUIT_BREAKER_ENABLED is false", () =>
    withBreakers({ CIRCUIT_BREAKER_ENABLED: "false" }, (harness) =>
      Effect.gen(function* () {
        harness.upstream.script("other", overloaded())
        yield* failingRequests(harness, 10)
        expect(harness.upstream.calls("other")).toBe(10)
        expect((yield* harness.stateOf("other")).state).toBe("closed")
      })
    )
  )

  it.effect("publish each transition, the half-opening at its exact time even when noticed later", () =>
    withBreakers({}, (harness) =>
      Effect.gen(function* () {
        harness.upstream.script("other", overloaded(), overloaded(), overloaded(), overloaded(), overloaded(), answer)
        yield* failingRequests(harness, 5)
        yield* TestClock.adjust(90_000)
        yield* harness.request()
        expect(harness.events.filter((event) => event._tag === "BreakerTransition")).toEqual([
          { _tag: "BreakerTransition", model: "other", from: "closed", to: "open", at: 0 },
          { _tag: "BreakerTransition", model: "other", from: "open", to: "half_open", at: 60_000 },
          { _tag: "BreakerTransition", model: "other", from: "half_open", to: "closed", at: 90_000 }
        ])
      })
    )
  )
})
