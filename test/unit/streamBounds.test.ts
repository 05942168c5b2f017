/**
 * The bounds of an upstream stream (Bounds.ts) on TestClock, over a source that behaves as an
 * HTTP body does: its read fails once its request is aborted. The idle bound counts only the
 * time a read waits for the upstream, and keeps counting from the last event however many came
 * before; the total bounds a stream that is never silent for long; each fires by aborting the
 * request and failing the stream with its own Timeout.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Queue, Stream } from "effect"
import * as Cause from "effect/Cause"
import { TestClock } from "effect/testing"
import { ProviderError, TransportReason, type ProviderErrorReason } from "../../src/domain/ProviderError.ts"
import { boundStream } from "../../src/providers/Bounds.ts"
import { upstreamTimeouts as timeouts } from "../support/upstreamTimeouts.ts"

const fail = (reason: ProviderErrorReason) => new ProviderError({ provider: "openai", model: "gpt-4", reason })

/** Lets forked fibers register their sleeps before the clock moves. */
const settle = Effect.gen(function* () {
  for (let turn = 0; turn < 5; turn++) yield* Effect.yieldNow
})

/** Moves the clock in 1 s steps, so that each sleep fires at its time and what it starts can register its own. */
const advance = (seconds: number) =>
  Effect.gen(function* () {
    for (let elapsed = 0; elapsed < seconds; elapsed++) {
      yield* settle
      yield* TestClock.adjust(1_000)
    }
    yield* settle
  })

/**
 * An upstream whose events the test sends (`send`, `end`) and whose request is aborted when the scope `open`
 * ran in closes, as UpstreamHttp's is; its pending read then fails, as an undici body's does.
 */
const upstream = Effect.gen(function* () {
  const queue = yield* Queue.unbounded<string, Error | Cause.Done>()
  let aborted = false
  const open = Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => new AbortController()),
      (controller) => Effect.sync(() => controller.abort())
    ),
    (controller) => {
      controller.signal.addEventListener("abort", () => {
        aborted = true
        Queue.failCauseUnsafe(queue, Cause.fail(new Error("This operation was aborted")))
      })
      return Stream.fromQueue(queue).pipe(
        Stream.mapError((error) => fail(new TransportReason({ message: error.message })))
      )
    }
  )
  return {
    open,
    send: (event: string) => Queue.offerUnsafe(queue, event),
    end: () => Queue.endUnsafe(queue),
    aborted: () => aborted
  }
})

const timeoutOf = (exit: Exit.Exit<unknown, ProviderError>): string => {
  assert.isTrue(Exit.isFailure(exit), "the stream failed")
  const error = Exit.isFailure(exit) ? exit.cause.reasons.find((reason) => reason._tag === "Fail") : undefined
  const reason = (error as { error: ProviderError } | undefined)?.error.reason
  assert.strictEqual(reason?._tag, "Timeout")
  return reason?.message ?? ""
}

describe("stream bounds", () => {
  it.effect("a stream silent for the idle bound after some events fails with Timeout and aborts the request", () =>
    Effect.gen(function* () {
      const { open, send, aborted } = yield* upstream
      const received: Array<string> = []
      const fiber = yield* Effect.forkChild(
        Stream.runForEach(boundStream(open, timeouts, fail), (event) => Effect.sync(() => received.push(event)))
      )
      for (const event of ["a", "b", "c"]) {
        send(event)
        yield* advance(10)
      }
      // "c" came 10 s ago; the bound is 30 s of silence.
      yield* advance(19)
      assert.isUndefined(fiber.pollUnsafe())
      assert.isFalse(aborted())
      yield* advance(2)
      assert.include(timeoutOf(yield* Fiber.await(fiber)), "silent for 30 s")
      assert.deepStrictEqual(received, ["a", "b", "c"])
      assert.isTrue(aborted())
    })
  )

  it.effect("events less than the idle bound apart keep a stream going for longer than the bound", () =>
    Effect.gen(function* () {
      const { open, send, end, aborted } = yield* upstream
      const fiber = yield* Effect.forkChild(Stream.runCollect(boundStream(open, timeouts, fail)))
      for (let n = 0; n < 6; n++) {
        send(String(n))
        yield* advance(25)
      }
      assert.isFalse(aborted())
      end()
      yield* settle
      const exit = yield* Fiber.await(fiber)
      assert.deepStrictEqual(exit, Exit.succeed(["0", "1", "2", "3", "4", "5"]))
    })
  )

  it.effect("a consumer that stops reading for longer than the idle bound is not an upstream's silence", () =>
    Effect.gen(function* () {
      const { open, send, end } = yield* upstream
      const received: Array<string> = []
      const fiber = yield* Effect.forkChild(
        Stream.runForEach(boundStream(open, timeouts, fail), (event) =>
          Effect.andThen(
            Effect.sync(() => received.push(event)),
            // Writing the first event takes a minute (a slow client); the upstream has sent the rest meanwhile.
            event === "a" ? Effect.sleep("60 seconds") : Effect.void
          )
        )
      )
      send("a")
      yield* advance(1)
      send("b")
      end()
      yield* advance(61)
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.void)
      assert.deepStrictEqual(received, ["a", "b"])
    })
  )

  it.effect("the total bound ends a stream that is never silent for long, and aborts the request", () =>
    Effect.gen(function* () {
      const { open, send, aborted } = yield* upstream
      const fiber = yield* Effect.forkChild(
        Stream.runDrain(boundStream(open, { ...timeouts, total: Duration.seconds(100) }, fail))
      )
      for (let n = 0; n < 9; n++) {
        send(String(n))
        yield* advance(10)
      }
      assert.isUndefined(fiber.pollUnsafe())
      yield* advance(11)
      assert.include(timeoutOf(yield* Fiber.await(fiber)), "did not finish within 100 s")
      assert.isTrue(aborted())
    })
  )

  it.effect("a total bound shorter than the first-byte bound bounds the opening too", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(
        Stream.runDrain(boundStream(Effect.never, { ...timeouts, total: Duration.seconds(50) }, fail))
      )
      yield* advance(49)
      assert.isUndefined(fiber.pollUnsafe())
      yield* advance(2)
      assert.include(timeoutOf(yield* Fiber.await(fiber)), "did not finish within 50 s")
    })
  )
})
