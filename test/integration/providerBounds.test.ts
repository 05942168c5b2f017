/**
 * The bounds on upstream calls, per adapter, against the fake upstreams: time to first
 * byte, stream silence and total time with TestClock; the connect timeout live (it is
 * the HTTP client's own). Each expiry fails with a Timeout reason and aborts the request.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, Redacted, Stream } from "effect"
import { TestClock } from "effect/testing"
import { createServer, type Socket } from "node:net"
import type { UpstreamTimeouts } from "../../src/Config.ts"
import type { CatalogModel } from "../../src/domain/Catalog.ts"
import type { ChatCompletionChunk } from "../../src/domain/Chat.ts"
import type { ProviderError } from "../../src/domain/ProviderError.ts"
import { makeAnthropicAdapter } from "../../src/providers/anthropic/AnthropicAdapter.ts"
import { makeGeminiAdapter } from "../../src/providers/gemini/GeminiAdapter.ts"
import { makeOpenAIAdapter } from "../../src/providers/openai/OpenAIAdapter.ts"
import type { Provider, ProviderRequest } from "../../src/providers/Provider.ts"
import { builtInModels, buildCatalog } from "../../src/services/registry/ModelCatalog.ts"
import { startAnthropicFake } from "../fakes/anthropic.ts"
import type { FakeUpstream } from "../fakes/FakeUpstream.ts"
import { startGeminiFake } from "../fakes/gemini.ts"
import { startOpenAIFake } from "../fakes/openai.ts"
import { upstreamTimeouts as timeouts } from "../support/upstreamTimeouts.ts"

const catalog = buildCatalog(builtInModels, "test") as ReadonlyArray<CatalogModel>
const modelOf = (id: string) => catalog.find((model) => model.id === id)!

const vendors = [
  {
    name: "openai",
    model: modelOf("gpt-4"),
    start: () => startOpenAIFake("k"),
    make: (baseUrl: string, timeouts: UpstreamTimeouts) =>
      makeOpenAIAdapter({ apiKey: Redacted.make("k"), baseUrl: `${baseUrl}/v1` }, timeouts),
    eventsToFirstText: 2
  },
  {
    name: "anthropic",
    model: modelOf("claude-3"),
    start: () => startAnthropicFake("k"),
    make: (baseUrl: string, timeouts: UpstreamTimeouts) =>
      makeAnthropicAdapter({ apiKey: Redacted.make("k"), baseUrl }, timeouts),
    eventsToFirstText: 4
  },
  {
    name: "gemini",
    model: modelOf("gemini-1.5-pro"),
    start: () => startGeminiFake("k"),
    make: (baseUrl: string, timeouts: UpstreamTimeouts) =>
      makeGeminiAdapter({ apiKey: Redacted.make("k"), baseUrl }, timeouts),
    eventsToFirstText: 1
  }
] as const

const requestFor = (model: CatalogModel, maxTokens = 100): ProviderRequest => ({
  request: { model: model.id, messages: [{ role: "user", content: "Tell a story" }] },
  model,
  maxTokens,
  requestId: "req_test"
})

/** Moves the test clock in 1 s steps, so that sleeps registered a scheduler hop late still fire in time. */
const advance = (ms: number) =>
  Effect.gen(function* () {
    for (let elapsed = 0; elapsed < ms; elapsed += 1_000) yield* TestClock.adjust(1_000)
  })

const fakeIn = (start: () => Promise<FakeUpstream>) =>
  Effect.acquireRelease(Effect.promise(start), (fake) => Effect.promise(() => fake.close()))

const timeoutMessage = (exit: Exit.Exit<unknown, ProviderError>): string => {
  assert.isTrue(Exit.isFailure(exit))
  const error = Exit.isFailure(exit) ? exit.cause.reasons.find((reason) => reason._tag === "Fail") : undefined
  const reason = (error as { error: ProviderError } | undefined)?.error.reason
  assert.strictEqual(reason?._tag, "Timeout")
  return reason?.message ?? ""
}

/** Runs the stream in a fiber, and resolves the deferred when the first text has arrived. */
const streamUntilText = (adapter: Provider, request: ProviderRequest) =>
  Effect.gen(function* () {
    const firstText = yield* Deferred.make<void>()
    const fiber = yield* Effect.forkChild(
      adapter.stream(request).pipe(
        Stream.tap((chunk: ChatCompletionChunk) =>
          chunk.choices[0]?.delta.content ? Deferred.succeed(firstText, undefined) : Effect.void
        ),
        Stream.runDrain
      )
    )
    return { fiber, firstText }
  })

describe.each(vendors)("$name adapter bounds", (vendor) => {
  it.effect("a stream that does not start in time fails with Timeout and aborts the request", () =>
    Effect.gen(function* () {
      const fake = yield* fakeIn(vendor.start)
      const adapter = yield* vendor.make(fake.url, timeouts)
      fake.script({ kind: "stall" })
      const fiber = yield* Effect.forkChild(Stream.runDrain(adapter.stream(requestFor(vendor.model))))
      yield* Effect.promise(() => fake.waitForRequests(1))
      yield* advance(59_000)
      assert.isUndefined(fiber.pollUnsafe())
      yield* advance(2_000)
      assert.include(timeoutMessage(yield* Fiber.await(fiber)), "did not start within 60 s")
      yield* Effect.promise(() => fake.waitForEarlyClose())
    })
  )

  it.effect("a stream silent for longer than the idle bound fails with Timeout and aborts the request", () =>
    Effect.gen(function* () {
      const fake = yield* fakeIn(vendor.start)
      const adapter = yield* vendor.make(fake.url, timeouts)
      fake.script({ kind: "stallAfter", events: vendor.eventsToFirstText })
      const { fiber, firstText } = yield* streamUntilText(adapter, requestFor(vendor.model))
      yield* Deferred.await(firstText)
      yield* advance(29_000)
      assert.isUndefined(fiber.pollUnsafe())
      yield* advance(2_000)
      assert.include(timeoutMessage(yield* Fiber.await(fiber)), "silent for 30 s")
      yield* Effect.promise(() => fake.waitForEarlyClose())
    })
  )

  it.effect("a stream is bounded in total even while it is not silent for long", () =>
    Effect.gen(function* () {
      const fake = yield* fakeIn(vendor.start)
      const adapter = yield* vendor.make(fake.url, {
        ...timeouts,
        streamIdle: Duration.seconds(900),
        total: Duration.seconds(100)
      })
      fake.script({ kind: "stallAfter", events: vendor.eventsToFirstText })
      const { fiber, firstText } = yield* streamUntilText(adapter, requestFor(vendor.model))
      yield* Deferred.await(firstText)
      yield* advance(101_000)
      assert.include(timeoutMessage(yield* Fiber.await(fiber)), "did not finish within 100 s")
      yield* Effect.promise(() => fake.waitForEarlyClose())
    })
  )

  it.effect("a plain completion is bounded by the total timeout", () =>
    Effect.gen(function* () {
      const fake = yield* fakeIn(vendor.start)
      const adapter = yield* vendor.make(fake.url, timeouts)
      fake.script({ kind: "stall" })
      const fiber = yield* Effect.forkChild(adapter.complete(requestFor(vendor.model)))
      yield* Effect.promise(() => fake.waitForRequests(1))
      yield* advance(601_000)
      assert.include(timeoutMessage(yield* Fiber.await(fiber)), "No answer within 600 s")
      yield* Effect.promise(() => fake.waitForEarlyClose())
    })
  )

  it.effect("a plain completion whose budget takes longer at the slowest rate gets that long", () =>
    Effect.gen(function* () {
      const fake = yield* fakeIn(vendor.start)
      const adapter = yield* vendor.make(fake.url, timeouts)
      fake.script({ kind: "stall" })
      // 60 s to the first byte, then 4,096 tokens at 5 tokens/s: 879.2 s, past the 600-s total.
      const fiber = yield* Effect.forkChild(adapter.complete(requestFor(vendor.model, 4_096)))
      yield* Effect.promise(() => fake.waitForRequests(1))
      yield* advance(879_000)
      assert.isUndefined(fiber.pollUnsafe())
      yield* advance(1_000)
      assert.include(timeoutMessage(yield* Fiber.await(fiber)), "No answer within 879.2 s")
      yield* Effect.promise(() => fake.waitForEarlyClose())
    })
  )

  it.live("a connection that is not set up in time is a Timeout", () =>
    Effect.gen(function* () {
      // Accepts TCP and never answers the TLS handshake.
      const sockets = new Set<Socket>()
      const silent = createServer((socket) => sockets.add(socket))
      yield* Effect.acquireRelease(
        Effect.promise(() => new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve))),
        () =>
          Effect.promise(() => {
            for (const socket of sockets) socket.destroy()
            return new Promise<void>((resolve) => silent.close(() => resolve()))
          })
      )
      const { port } = silent.address() as { port: number }
      const adapter = yield* vendor.make(`https://127.0.0.1:${port}`, { ...timeouts, connect: Duration.millis(200) })
      const exit = yield* Effect.exit(adapter.complete(requestFor(vendor.model)))
      // The SDKs report undici's connect timeout as their own timeout error; either way it is a Timeout.
      assert.match(timeoutMessage(exit), /in time/)
    })
  )
})
