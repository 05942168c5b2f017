/**
 * The bound on writes to a client (TestClock): a writer stuck on one piece for the limit ends
 * the stream and releases its source; a source that is silent, or writes that are slow but
 * within the limit, never do.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import { boundWrites } from "../../src/http/ClientWrites.ts"

const limitMs = 30_000
const piece = new TextEncoder().encode("data: {}\n\n")

/** Lets forked fibers register their sleeps before the clock moves. */
const settle = Effect.gen(function* () {
  for (let turn = 0; turn < 5; turn++) yield* Effect.yieldNow
})

const advance = (ms: number) => Effect.andThen(settle, Effect.andThen(TestClock.adjust(ms), settle))

const observed = () => {
  const events: Array<string> = []
  const source = (body: Stream.Stream<Uint8Array>) =>
    body.pipe(Stream.ensuring(Effect.sync(() => events.push("source released"))))
  const bound = (body: Stream.Stream<Uint8Array>) =>
    boundWrites(source(body), { timeoutMs: limitMs, onStall: Effect.sync(() => events.push("stalled")) })
  return { events, bound }
}

describe("bounded client writes", () => {
  it.effect("a writer stuck for the limit ends the stream and releases its source", () =>
    Effect.gen(function* () {
      const { events, bound } = observed()
      let written = 0
      // The second write never completes, as when the socket's buffer does not drain.
      const writer = yield* Effect.forkChild(
        Stream.runForEachArray(bound(Stream.forever(Stream.succeed(piece))), () =>
          ++written === 2 ? Effect.never : Effect.void
        )
      )
      yield* advance(limitMs - 1)
      assert.isUndefined(writer.pollUnsafe())
      assert.deepStrictEqual(events, [])
      yield* advance(1)
      const exit = yield* Fiber.await(writer)
      assert.isTrue(Exit.hasInterrupts(exit))
      assert.deepStrictEqual(events, ["stalled", "source released"])
      assert.strictEqual(written, 2)
    })
  )

  it.effect("a silent source is not a stalled write", () =>
    Effect.gen(function* () {
      const { events, bound } = observed()
      const silent = Stream.concat(Stream.succeed(piece), Stream.never)
      const writer = yield* Effect.forkChild(Stream.runDrain(bound(silent)))
      yield* advance(10 * limitMs)
      assert.isUndefined(writer.pollUnsafe())
      assert.deepStrictEqual(events, [])
      yield* Fiber.interrupt(writer)
    })
  )

  it.effect("writes slow but each within the limit finish the stream", () =>
    Effect.gen(function* () {
      const { events, bound } = observed()
      const pieces = Stream.fromIterable([piece, piece, piece, piece]).pipe(Stream.rechunk(1))
      // The server writes what one pull gives at once, as here.
      const writer = yield* Effect.forkChild(
        Stream.runForEachArray(bound(pieces), () => Effect.sleep(limitMs - 1)).pipe(Effect.as("finished"))
      )
      for (let write = 0; write < 4; write++) yield* advance(limitMs - 1)
      assert.strictEqual(yield* Fiber.join(writer), "finished")
      assert.deepStrictEqual(events, ["source released"])
    })
  )
})
