/**
 * SSE framing of the HTTP layer: heartbeats in silences (TestClock), only the final usage chunk
 * and only when asked, an error event and [DONE] after a failure.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { ChatCompletionChunk } from "../../src/domain/Chat.ts"
import { ServiceUnavailable } from "../../src/domain/errors.ts"
import * as Sse from "../../src/http/Sse.ts"

const chunk = (content: string | undefined, extra: Partial<ChatCompletionChunk> = {}): ChatCompletionChunk => ({
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 1,
  model: "claude-3",
  choices: content === undefined ? [] : [{ index: 0, delta: { content }, finish_reason: null }],
  ...extra
})

const text = (bytes: ReadonlyArray<Uint8Array>) => bytes.map((part) => new TextDecoder().decode(part)).join("")

/**
 * Moves the test clock in 1 s steps: the stream's merged fibers register their sleeps a
 * scheduler hop after they are forked, and one big jump would pass them by.
 */
const advance = (ms: number) =>
  Effect.gen(function* () {
    for (let elapsed = 0; elapsed < ms; elapsed += 1_000) yield* TestClock.adjust(1_000)
  })

const events = (output: string) => output.split("\n\n").filter((event) => event !== "")

/** A body piece that is not a keep-alive comment. */
const keepAliveFree = (name: string) => new TextEncoder().encode(`${name}\n\n`)

const encode = (
  chunks: Stream.Stream<ChatCompletionChunk, ServiceUnavailable>,
  options: { readonly includeUsage?: boolean; readonly heartbeatMs?: number } = {}
) =>
  Sse.encode(chunks, {
    includeUsage: options.includeUsage ?? false,
    heartbeatMs: options.heartbeatMs ?? 15_000,
    onError: (cause) => Effect.succeed(Sse.failureOf(cause))
  })

/** A role chunk at once, then the first token after `waitMs` of model silence. */
const slowStart = (waitMs: number) =>
  Stream.concat(Stream.succeed(chunk("")), Stream.fromEffect(Effect.as(Effect.sleep(waitMs), chunk("Hello"))))

describe("SSE heartbeats", () => {
  it.effect("a keep-alive comment every 15 s of silence, also before the first token", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(Stream.runCollect(encode(slowStart(40_000))))
      yield* advance(41_000)
      const output = events(text(yield* Fiber.join(fiber)))
      assert.deepStrictEqual(
        output.map((event) => (event.startsWith("data: {") ? "chunk" : event)),
        ["chunk", ": keep-alive", ": keep-alive", "chunk", "data: [DONE]"]
      )
    })
  )

  it.effect("a keep-alive before the body's first piece, when that is late", () =>
    Effect.gen(function* () {
      const late = Stream.fromEffect(Effect.as(Effect.sleep(20_000), keepAliveFree("late")))
      const fiber = yield* Effect.forkChild(Stream.runCollect(Sse.withHeartbeat(late, 15_000)))
      yield* advance(21_000)
      assert.deepStrictEqual(events(text(yield* Fiber.join(fiber))), [": keep-alive", "late"])
    })
  )

  it.effect("a writer that comes back after a long write to a silent body sends a keep-alive at once", () =>
    Effect.gen(function* () {
      const body = Stream.concat(
        Stream.succeed(keepAliveFree("first")),
        Stream.fromEffect(Effect.as(Effect.sleep(40_000), keepAliveFree("second")))
      )
      const written: Array<readonly [atMs: number, event: string]> = []
      const fiber = yield* Effect.forkChild(
        Stream.runForEach(Sse.withHeartbeat(body, 15_000), (bytes) =>
          Effect.gen(function* () {
            const event = text([bytes]).trim()
            written.push([yield* Clock.currentTimeMillis, event])
            // The first write takes 20 s, as to a client that reads slowly.
            if (event === "first") yield* Effect.sleep(20_000)
          })
        )
      )
      yield* advance(41_000)
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(written, [
        [0, "first"],
        [20_000, ": keep-alive"],
        [35_000, ": keep-alive"],
        [40_000, "second"]
      ])
    })
  )

  it.effect("a client that leaves ends the body's read, and the body is released", () =>
    Effect.gen(function* () {
      let released = false
      const silent = Stream.never.pipe(Stream.ensuring(Effect.sync(() => (released = true))))
      const fiber = yield* Effect.forkChild(Stream.runCollect(Sse.withHeartbeat(silent, 15_000)))
      yield* advance(16_000)
      assert.isFalse(released)
      yield* Fiber.interrupt(fiber)
      assert.isTrue(released)
    })
  )

  it.effect("no heartbeat while output keeps flowing", () =>
    Effect.gen(function* () {
      const steady = Stream.fromIterable([1, 2, 3, 4]).pipe(
        Stream.mapEffect((n) => Effect.as(Effect.sleep(10_000), chunk(String(n))))
      )
      const fiber = yield* Effect.forkChild(Stream.runCollect(encode(steady)))
      yield* advance(41_000)
      const output = text(yield* Fiber.join(fiber))
      assert.notInclude(output, "keep-alive")
    })
  )

  it.effect("the interval is configurable, and 0 turns heartbeats off", () =>
    Effect.gen(function* () {
      const every5 = yield* Effect.forkChild(Stream.runCollect(encode(slowStart(16_000), { heartbeatMs: 5_000 })))
      const never = yield* Effect.forkChild(Stream.runCollect(encode(slowStart(16_000), { heartbeatMs: 0 })))
      yield* advance(17_000)
      assert.strictEqual(text(yield* Fiber.join(every5)).split(": keep-alive").length - 1, 3)
      assert.notInclude(text(yield* Fiber.join(never)), "keep-alive")
    })
  )
})

describe("SSE framing", () => {
  const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 }
  const withUsage = Stream.fromIterable([chunk("Hi"), chunk(undefined, { usage })])

  it.effect("the usage chunk reaches only clients that asked for it", () =>
    Effect.gen(function* () {
      const asked = text(yield* Stream.runCollect(encode(withUsage, { includeUsage: true })))
      const silent = text(yield* Stream.runCollect(encode(withUsage)))
      assert.include(asked, '"usage":{"prompt_tokens":3')
      assert.notInclude(silent, "usage")
      assert.isTrue(silent.endsWith("data: [DONE]\n\n"))
    })
  )

  it.effect("a client that asked for usage, of a stream that had none, gets the content and [DONE], nothing else", () =>
    Effect.gen(function* () {
      const output = events(text(yield* Stream.runCollect(encode(Stream.make(chunk("Hi")), { includeUsage: true }))))
      assert.strictEqual(output.length, 2)
      assert.include(output[0], '"content":"Hi"')
      assert.strictEqual(output[1], "data: [DONE]")
    })
  )

  it.effect("of several cumulative usage chunks, only the last is sent, just before [DONE]", () =>
    Effect.gen(function* () {
      const cumulative = (completion_tokens: number) => ({
        prompt_tokens: 3,
        completion_tokens,
        total_tokens: 3 + completion_tokens
      })
      const chunks = Stream.fromIterable([
        chunk(undefined, { usage: cumulative(0) }),
        chunk("Hi"),
        chunk(undefined, { usage: cumulative(1) }),
        chunk(" there"),
        chunk(undefined, { usage: cumulative(2) })
      ])
      const output = events(text(yield* Stream.runCollect(encode(chunks, { includeUsage: true }))))
      const usages = output.filter((event) => event.includes('"usage"'))
      assert.strictEqual(usages.length, 1)
      assert.deepStrictEqual(JSON.parse(output.at(-2)!.slice("data: ".length)).usage, cumulative(2))
      assert.deepStrictEqual(
        output.map((event) =>
          event === "data: [DONE]" ? "done" : JSON.parse(event.slice("data: ".length)).choices.length
        ),
        [1, 1, 0, "done"]
      )
      const silent = events(text(yield* Stream.runCollect(encode(chunks))))
      assert.deepStrictEqual(silent.length, 3)
      assert.notInclude(silent.join(""), "usage")
    })
  )

  it.effect("a stream that fails sends no usage, even the usage received before the failure", () =>
    Effect.gen(function* () {
      const failing = Stream.concat(
        Stream.fromIterable([chunk("Hi"), chunk(undefined, { usage })]),
        Stream.fail(new ServiceUnavailable({ message: "LLM service temporarily unavailable" }))
      )
      const output = events(text(yield* Stream.runCollect(encode(failing, { includeUsage: true }))))
      assert.notInclude(output.join(""), "usage")
      assert.include(output[1]!, '"error"')
      assert.strictEqual(output[2], "data: [DONE]")
    })
  )

  it.effect("a chunk that cannot be framed ends the stream with an internal error event, then [DONE]", () =>
    Effect.gen(function* () {
      // JSON.stringify throws on a bigint: a defect while framing, not a failure of the chunk stream.
      const unframable = chunk("there", { created: 1n as unknown as number })
      const output = events(
        text(yield* Stream.runCollect(encode(Stream.concat(Stream.succeed(chunk("Hi")), Stream.succeed(unframable)))))
      )
      assert.strictEqual(output.length, 3)
      assert.include(output[0], '"content":"Hi"')
      assert.strictEqual(JSON.parse(output[1]!.slice("data: ".length)).error.type, "internal_error")
      assert.strictEqual(output[2], "data: [DONE]")
    })
  )

  it.effect("a failure after the first chunk is an error event with the error response's body, then [DONE]", () =>
    Effect.gen(function* () {
      const failing = Stream.concat(
        Stream.succeed(chunk("Hi")),
        Stream.fail(new ServiceUnavailable({ message: "LLM service temporarily unavailable" }))
      )
      const output = events(text(yield* Stream.runCollect(encode(failing))))
      assert.strictEqual(output.length, 3)
      // The status is the top-level `code`, as in a response; `error.code` is OpenAI's string code, which we never set.
      assert.deepStrictEqual(JSON.parse(output[1]!.slice("data: ".length)), {
        detail: "LLM service temporarily unavailable",
        code: 503,
        error_type: "service_error",
        error: { message: "LLM service temporarily unavailable", type: "service_error", param: null, code: null }
      })
      assert.strictEqual(output[2], "data: [DONE]")
    })
  )
})
