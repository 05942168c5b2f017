/**
 * Reading SSE events straight from a body (sseBody.ts), over a Node stream standing in for an
 * undici body: events split anywhere (inside a line, inside a UTF-8 character), what the end of
 * the body does to a cut event, how a body's failure, an early close, a `retry:` directive and an
 * oversized event end the stream, and that a reader that leaves before the end destroys the body.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Stream } from "effect"
import { PassThrough } from "node:stream"
import { sseEvents } from "../../../src/providers/sseBody.ts"

const bytes = (text: string) => new TextEncoder().encode(text)

/** The body's error as the stream's failure, so that a test sees what the body failed with. */
const read = (body: PassThrough) => sseEvents(body, (error) => error)

const datas = (body: PassThrough) => Stream.runCollect(Stream.map(read(body), (event) => event.data))

/** Lets the body's events (emitted on the next tick) reach the reader. */
const ticks = Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))

describe("SSE events read from a body", () => {
  it.effect("events split across pieces, inside lines and inside a UTF-8 character, come out whole", () =>
    Effect.gen(function* () {
      const body = new PassThrough()
      const fiber = yield* Effect.forkChild(datas(body))
      const euro = bytes("€")
      body.write(bytes('data: {"a":'))
      yield* ticks
      body.write(bytes("1}\n\ndata: price 5"))
      body.write(euro.subarray(0, 1))
      yield* ticks
      body.write(euro.subarray(1))
      body.end(bytes("\n\nevent: done\ndata: [DONE]\n\n"))
      assert.deepStrictEqual(yield* Fiber.join(fiber), ['{"a":1}', "price 5€", "[DONE]"])
    })
  )

  it.effect("the event names and every event of one piece are kept, and an event cut off by the end is dropped", () =>
    Effect.gen(function* () {
      const body = new PassThrough()
      body.end(bytes("event: ping\ndata: {}\n\nevent: message\ndata: one\n\ndata: cut"))
      const events = yield* Stream.runCollect(read(body))
      assert.deepStrictEqual(
        events.map((event) => [event.event, event.data]),
        [
          ["ping", "{}"],
          ["message", "one"]
        ]
      )
    })
  )

  it.effect("a body that fails ends the stream with its error, after the events before it", () =>
    Effect.gen(function* () {
      const body = new PassThrough()
      const received: Array<string> = []
      const fiber = yield* Effect.forkChild(
        Stream.runForEach(read(body), (event) => Effect.sync(() => received.push(event.data)))
      )
      body.write(bytes("data: one\n\n"))
      yield* ticks
      const reset = new Error("socket hang up")
      body.destroy(reset)
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.fail(reset))
      assert.deepStrictEqual(received, ["one"])
    })
  )

  it.effect("a body closed before its end without an error of its own fails the stream", () =>
    Effect.gen(function* () {
      const body = new PassThrough()
      const fiber = yield* Effect.forkChild(Stream.runDrain(read(body)))
      yield* ticks
      body.destroy()
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit))
    })
  )

  it.effect("a retry directive fails the stream, as Sse.decode does", () =>
    Effect.gen(function* () {
      const body = new PassThrough()
      body.end(bytes("retry: 1000\n\ndata: after\n\n"))
      const exit = yield* Effect.exit(Stream.runDrain(read(body)))
      assert.isTrue(Exit.isFailure(exit))
    })
  )

  it.effect("a reader that leaves before the end destroys the body; one that read to the end does not", () =>
    Effect.gen(function* () {
      const left = new PassThrough()
      left.write(bytes("data: one\n\ndata: two\n\n"))
      const first = yield* Stream.runCollect(Stream.take(read(left), 1))
      assert.deepStrictEqual(
        first.map((event) => event.data),
        ["one"]
      )
      assert.isTrue(left.destroyed)

      const whole = new PassThrough()
      whole.end(bytes("data: one\n\n"))
      yield* Stream.runDrain(read(whole))
      assert.isTrue(whole.readableEnded)
      assert.isNull(whole.errored)
    })
  )
})
