import { describe, expect, it } from "@effect/vitest"
import { Effect, type Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { RawEnv } from "../../src/Config.ts"
import { ServiceUnavailable, UpstreamError, ValidationError } from "../../src/domain/errors.ts"
import { ProtocolReason } from "../../src/domain/ProviderError.ts"
import { ChatCompletions } from "../../src/services/chat/ChatCompletions.ts"
import { CircuitBreakers } from "../../src/services/resilience/CircuitBreakers.ts"
import { chatInput, chatStack } from "../support/chatStack.ts"
import {
  answer,
  badRequest,
  connectionRefused,
  fail,
  makeScriptedProvider,
  overloaded,
  type ScriptedProvider
} from "../support/scriptedProvider.ts"
import { runToEnd, successOf } from "../support/testClock.ts"

/** `primary` falls back to `backup`, then `spare` (see chatStack). */
const withChat = <A, E>(
  env: RawEnv,
  body: (
    chat: ChatCompletions["Service"],
    upstream: ScriptedProvider
  ) => Effect.Effect<A, E, CircuitBreakers | Scope.Scope>
) => {
  const upstream = makeScriptedProvider()
  return Effect.gen(function* () {
    return yield* body(yield* ChatCompletions, upstream)
  }).pipe(Effect.provide(chatStack(upstream, env)))
}

const stateOf = (model: string) =>
  Effect.gen(function* () {
    const all = yield* (yield* CircuitBreakers).snapshot
    return all.find((breaker) => breaker.model === model)?.state
  })

describe("fallbacks", () => {
  it.effect("answer with the next model once the requested one's attempts are spent", () =>
    withChat({}, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("primary", overloaded())
        const ended = yield* runToEnd(chat.complete(chatInput("primary")))
        const { servedBy, completion } = successOf(ended.result)
        expect(servedBy.model.id).toBe("backup")
        expect(servedBy.fallbackFrom).toBe("primary")
        expect(completion.model).toBe("backup")
        expect(completion.choices[0]!.message.content).toBe("answer from backup")
        expect(upstream.callTimes("primary")).toEqual([0, 1_000, 3_000])
        expect(upstream.callTimes("backup")).toEqual([3_000])
      })
    )
  )

  it.effect("are tried in catalog order", () =>
    withChat({ RETRY_MAX_ATTEMPTS: "1" }, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("primary", overloaded())
        upstream.script("backup", connectionRefused)
        const { servedBy } = yield* chat.complete(chatInput("primary"))
        expect(servedBy.model.id).toBe("spare")
        expect([upstream.calls("primary"), upstream.calls("backup"), upstream.calls("spare")]).toEqual([1, 1, 1])
      })
    )
  )

  it.effect(
    "stop at a fallback whose answer could not be understood: that call was paid for, so no later model may hide it",
    () =>
      withChat({ RETRY_MAX_ATTEMPTS: "1" }, (chat, upstream) =>
        Effect.gen(function* () {
          upstream.script("primary", overloaded())
          upstream.script(
            "backup",
            fail(new ProtocolReason({ message: "usage.prompt_tokens: 10.5", completionText: "Hi" }))
          )
          const error = yield* Effect.flip(chat.complete(chatInput("primary")))
          expect(error).toBeInstanceOf(UpstreamError)
          expect([upstream.calls("primary"), upstream.calls("backup"), upstream.calls("spare")]).toEqual([1, 1, 0])
        })
      )
  )

  it.effect("stand in at once, without calling the requested model, while its breaker is open", () =>
    withChat({ RETRY_MAX_ATTEMPTS: "1" }, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("primary", overloaded())
        yield* Effect.repeat(chat.complete(chatInput("primary")), { times: 4 })
        expect(yield* stateOf("primary")).toBe("open")
        const { servedBy } = yield* chat.complete(chatInput("primary"))
        expect(servedBy).toMatchObject({ model: { id: "backup" }, fallbackFrom: "primary" })
        expect(upstream.calls("primary")).toBe(5)
      })
    )
  )

  it.effect("never stand in for a request the upstream refused", () =>
    withChat({}, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("primary", badRequest)
        const error = yield* Effect.flip(chat.complete(chatInput("primary")))
        expect(error).toBeInstanceOf(ValidationError)
        expect(upstream.calls("backup")).toBe(0)
      })
    )
  )

  it.effect("when all fail, the client sees the requested model's failure", () =>
    withChat({ RETRY_MAX_ATTEMPTS: "1" }, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("primary", overloaded(503, 30))
        // A fallback's own refusal of the request is no reason to report it: the client asked for primary.
        upstream.script("backup", badRequest)
        upstream.script("spare", connectionRefused)
        const error = yield* Effect.flip(chat.complete(chatInput("primary")))
        expect(error).toBeInstanceOf(ServiceUnavailable)
        expect(error.retryAfterSeconds).toBe(30)
        expect(upstream.calls("spare")).toBe(1)
      })
    )
  )

  it.effect("stand in for a stream that failed before its first chunk", () =>
    withChat({ RETRY_MAX_ATTEMPTS: "1" }, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("primary", overloaded())
        const { servedBy, chunks } = yield* chat.stream(chatInput("primary"))
        const received = yield* Stream.runCollect(chunks)
        expect(servedBy).toMatchObject({ model: { id: "backup" }, fallbackFrom: "primary" })
        expect(received.map((chunk) => chunk.model)).toEqual(["backup", "backup", "backup"])
      })
    )
  )

  it.effect("keep a model with a fallback answering while its upstream is down, until it recovers by itself", () =>
    withChat({}, (chat, upstream) =>
      Effect.gen(function* () {
        upstream.script("primary", overloaded())
        const answeredBy = (model: string) => Effect.map(chat.complete(chatInput(model)), (served) => served.servedBy)

        // Three attempts, then two more: the fifth failure opens the breaker and ends the retries.
        const first = yield* runToEnd(answeredBy("primary"), 3_000)
        const second = yield* runToEnd(answeredBy("primary"), 1_000)
        expect([successOf(first.result).model.id, successOf(second.result).model.id]).toEqual(["backup", "backup"])
        expect(upstream.calls("primary")).toBe(5)
        expect(yield* stateOf("primary")).toBe("open")

        // Meanwhile the model keeps answering, through its fallback, and its upstream is left alone.
        for (let minute = 0; minute < 5; minute++) {
          expect((yield* answeredBy("primary")).model.id).toBe("backup")
          yield* TestClock.adjust(11_000)
        }
        expect(upstream.calls("primary")).toBe(5)

        // The upstream comes back; at the recovery timeout a probe finds it and the breaker closes.
        upstream.script("primary", answer)
        // It opened at 4 s; 55 s have passed since; 5 s more make the recovery timeout.
        yield* TestClock.adjust(5_000)
        expect(yield* stateOf("primary")).toBe("half_open")
        const recovered = yield* answeredBy("primary")
        expect(recovered.model.id).toBe("primary")
        expect(recovered.fallbackFrom).toBeUndefined()
        expect(yield* stateOf("primary")).toBe("closed")
      })
    )
  )
})
