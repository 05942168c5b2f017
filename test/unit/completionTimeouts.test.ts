/**
 * Long generations and the breaker (TestClock): a non-streamed attempt may take its
 * first-byte allowance plus its completion budget at the slowest accepted output rate, so a
 * slow but healthy provider answers and leaves its breaker alone; one slower than that rate
 * times out and counts; an attempt cut by the request's own deadline does not count.
 *
 * Here: first byte 60 s, 10 tokens/s, the catalog's 4,096-token budget: 60 + 409.6 = 469.6 s,
 * past the configured 120-s attempt and 300-s request bounds.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { RawEnv } from "../../src/Config.ts"
import { GatewayTimeout, ServiceUnavailable } from "../../src/domain/errors.ts"
import type { ProviderRequest } from "../../src/providers/Provider.ts"
import { ChatCompletions } from "../../src/services/chat/ChatCompletions.ts"
import { CircuitBreakers } from "../../src/services/resilience/CircuitBreakers.ts"
import type { ResilienceEvent } from "../../src/services/resilience/ResilienceEvents.ts"
import { chatInput, chatStack } from "../support/chatStack.ts"
import { makeScriptedProvider, overloaded, type ScriptedProvider } from "../support/scriptedProvider.ts"
import { failureOf, runToEnd, successOf } from "../support/testClock.ts"

const env: RawEnv = {
  UPSTREAM_MIN_OUTPUT_TOKENS_PER_SECOND: "10",
  UPSTREAM_ATTEMPT_TIMEOUT_SECONDS: "120",
  UPSTREAM_REQUEST_TIMEOUT_SECONDS: "300",
  // One counted failure opens a breaker, so that a miscounted timeout cannot hide.
  CIRCUIT_BREAKER_FAILURE_THRESHOLD: "1"
}

/** The scripted provider, whose completions of some models take this long (ms) before the script applies. */
const slowProvider = (delays: Readonly<Record<string, number>>): ScriptedProvider => {
  const scripted = makeScriptedProvider()
  const complete = (input: ProviderRequest) => {
    const delay = delays[input.model.id]
    return delay === undefined
      ? scripted.complete(input)
      : Effect.andThen(Effect.sleep(delay), scripted.complete(input))
  }
  return { ...scripted, complete }
}

const withChat = <A, E>(
  upstream: ScriptedProvider,
  body: (chat: ChatCompletions["Service"]) => Effect.Effect<A, E, CircuitBreakers>,
  overrides: RawEnv = {}
) => {
  const events: Array<ResilienceEvent> = []
  return Effect.gen(function* () {
    const result = yield* body(yield* ChatCompletions)
    const breakers = yield* (yield* CircuitBreakers).snapshot
    return { result, events, breakers: new Map(breakers.map((breaker) => [breaker.model, breaker])) }
  }).pipe(Effect.provide(chatStack(upstream, { ...env, ...overrides }, events)))
}

describe("non-streamed attempts are bounded by their completion budget", () => {
  it.effect("a completion slow but within the slowest accepted rate answers, and its breaker counts nothing", () =>
    Effect.gen(function* () {
      const { result, events, breakers } = yield* withChat(slowProvider({ other: 460_000 }), (chat) =>
        runToEnd(chat.complete(chatInput("other")))
      )
      expect(successOf(result.result).completion.choices[0]!.message.content).toBe("answer from other")
      expect(result.endedAt).toBe(460_000)
      expect(breakers.get("other")).toMatchObject({ state: "closed", failureCount: 0 })
      expect(events).toEqual([])
    })
  )

  it.effect("one slower than that rate times out at its bound, and counts against its breaker", () =>
    Effect.gen(function* () {
      const { result, events } = yield* withChat(slowProvider({ other: 480_000 }), (chat) =>
        runToEnd(chat.complete(chatInput("other")))
      )
      expect(failureOf(result.result)).toBeInstanceOf(GatewayTimeout)
      expect(result.endedAt).toBe(469_600)
      // (The snapshot taken an hour later finds it half-open.)
      expect(events[0]).toEqual({ _tag: "BreakerTransition", model: "other", from: "closed", to: "open", at: 469_600 })
    })
  )

  it.effect("an attempt cut by the request's deadline leaves its breaker alone", () =>
    Effect.gen(function* () {
      // The primary fails at 0, 1 s and 3 s; its fallback, from 3 s, would answer at 470 s, within its own
      // bound (469.6 s from 3 s), but the request's bound ends 469.6 s after the start.
      const upstream = slowProvider({ backup: 467_000 })
      upstream.script("primary", overloaded())
      const { result, breakers } = yield* withChat(upstream, (chat) => runToEnd(chat.complete(chatInput("primary"))), {
        CIRCUIT_BREAKER_FAILURE_THRESHOLD: "5"
      })
      // The client hears about the model it asked for.
      expect(failureOf(result.result)).toBeInstanceOf(ServiceUnavailable)
      expect(result.endedAt).toBe(469_600)
      expect(breakers.get("primary")).toMatchObject({ state: "closed", failureCount: 3 })
      expect(breakers.get("backup")).toMatchObject({ state: "closed", failureCount: 0 })
    })
  )
})
