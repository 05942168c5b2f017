/**
 * Anthropic's event framing of `/v1/messages` streams: every event named (`event:` then `data:`), `ping` events in
 * silences (TestClock), and a failure after the first byte as an `error` event that ends the stream.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { ChatCompletionChunk } from "../../src/domain/Chat.ts"
import { ServiceUnavailable } from "../../src/domain/errors.ts"
import * as MessageStream from "../../src/http/messages/stream.ts"
import * as Sse from "../../src/http/Sse.ts"

const chunk = (content: string): ChatCompletionChunk => ({
  id: "msg_1",
  object: "chat.completion.chunk",
  created: 1,
  model: "claude-3",
  choices: [{ index: 0, delta: { content }, finish_reason: null }]
})

const text = (bytes: ReadonlyArray<Uint8Array>) => bytes.map((part) => new TextDecoder().decode(part)).join("")

/** One step at a time, so that the heartbeat's sleeps registered a scheduler hop later are not passed by. */
const advance = (ms: number) =>
  Effect.gen(function* () {
    for (let elapsed = 0; elapsed < ms; elapsed += 1_000) yield* TestClock.adjust(1_000)
  })

/** Each event as its name, after checking that its data repeats the name as its type. */
const names = (output: string) =>
  output
    .split("\n\n")
    .filter((event) => event !== "")
    .map((event) => {
      const [name, data] = event.split("\n")
      const type = name!.slice("event: ".length)
      assert.strictEqual(JSON.parse(data!.slice("data: ".length)).type, type)
      return type
    })

const encode = (chunks: Stream.Stream<ChatCompletionChunk, ServiceUnavailable>) =>
  MessageStream.encode(chunks, {
    requestId: "req_1",
    heartbeatMs: 15_000,
    onError: (cause) => Effect.succeed(Sse.failureOf(cause))
  })

describe("Anthropic event stream", () => {
  it.effect("pings every 15 s of silence, also before the first token", () =>
    Effect.gen(function* () {
      const slow = Stream.concat(
        Stream.succeed(chunk("")),
        Stream.fromEffect(Effect.as(Effect.sleep(40_000), chunk("Hi")))
      )
      const fiber = yield* Effect.forkChild(Stream.runCollect(encode(slow)))
      yield* advance(41_000)
      assert.deepStrictEqual(names(text(yield* Fiber.join(fiber))), [
        "ping",
        "ping",
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop"
      ])
    })
  )

  it.effect("a failure after the first byte is an error event in Anthropic's format, and the end", () =>
    Effect.gen(function* () {
      const failing = Stream.concat(
        Stream.succeed(chunk("Hel")),
        Stream.fail(new ServiceUnavailable({ message: "The upstream is overloaded" }))
      )
      const output = text(yield* Stream.runCollect(encode(failing)))
      assert.deepStrictEqual(names(output), [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "error"
      ])
      assert.include(
        output,
        'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"The upstream is overloaded"}}\n\n'
      )
    })
  )
})
