/**
 * The runner every vendor's stream translator goes through (translateStream): chunks out in
 * order across batches, events that yield nothing skipped, the end's chunks last, and a failure
 * (an event, or the end) only after the chunks before it. And the decoding of events before it
 * (decodeEvents): batches kept whole, skipped events, a failing event after the ones before it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Result, Schema, Stream } from "effect"
import type { ChatCompletionChunk } from "../../src/domain/Chat.ts"
import {
  ProtocolReason,
  ProviderError,
  type ProviderErrorReason,
  TransportReason
} from "../../src/domain/ProviderError.ts"
import { decodeEvents, decoder, type StreamTranslator, translateStream } from "../../src/providers/StreamTranslator.ts"

const chunk = (content: string): ChatCompletionChunk => ({
  id: "c",
  object: "chat.completion.chunk",
  created: 0,
  model: "m",
  choices: [{ index: 0, delta: { content }, finish_reason: null }]
})

/** Events are words: "bad" fails, "" yields nothing, any other word is a chunk; the end says how many. */
const words: StreamTranslator<string, number> = {
  initial: 0,
  step: (count, word) =>
    word === "bad"
      ? Result.fail(new ProtocolReason({ message: "bad event" }))
      : Result.succeed([count + 1, word === "" ? [] : [chunk(word)]]),
  end: (count) =>
    count === 0 ? Result.fail(new TransportReason({ message: "no event" })) : Result.succeed([chunk(`end:${count}`)])
}

const fail = (reason: ProviderErrorReason) => new ProviderError({ provider: "p", model: "m", reason })

/** What a client receives: the contents in order, then how the stream ended. */
const run = (events: ReadonlyArray<string>, batch: number) =>
  Effect.gen(function* () {
    const received: Array<string> = []
    const exit = yield* Effect.exit(
      Stream.runForEach(translateStream(Stream.rechunk(Stream.fromIterable(events), batch), words, fail), (out) =>
        Effect.sync(() => void received.push(String(out.choices[0]!.delta.content)))
      )
    )
    const ending = Exit.isSuccess(exit)
      ? "done"
      : Exit.isFailure(exit) && exit.cause.reasons[0]?._tag === "Fail"
        ? (exit.cause.reasons[0].error as ProviderError).reason.message
        : "defect"
    return { received, ending }
  })

describe("translateStream", () => {
  it.effect("passes chunks in order, across and within batches, skipping events that yield none, then the end's", () =>
    Effect.gen(function* () {
      for (const batch of [1, 2, 5]) {
        expect(yield* run(["a", "", "", "b", "c"], batch)).toEqual({
          received: ["a", "b", "c", "end:5"],
          ending: "done"
        })
      }
    })
  )

  it.effect("fails on a bad event only after the chunks before it, even within one batch", () =>
    Effect.gen(function* () {
      for (const batch of [1, 3]) {
        expect(yield* run(["a", "b", "bad", "c"], batch)).toEqual({ received: ["a", "b"], ending: "bad event" })
      }
    })
  )

  it.effect("fails when the end says the answer is incomplete", () =>
    Effect.gen(function* () {
      expect(yield* run([], 1)).toEqual({ received: [], ending: "no event" })
    })
  )

  it("names what was malformed when an answer does not decode", () => {
    const decode = decoder(Schema.Struct({ id: Schema.String }), "test answer")
    const result = decode({ id: 1 })
    expect(Result.isFailure(result) && result.failure.message).toMatch(/^Malformed test answer from upstream: /)
  })
})

describe("decodeEvents", () => {
  /** "skip" is skipped, "bad" fails (as an effect, as an error event does), any other event is its length. */
  const decodeWord = (word: string) =>
    word === "skip"
      ? undefined
      : word === "bad"
        ? Result.fail(Effect.fail(fail(new ProtocolReason({ message: "error event" }))))
        : Result.succeed(word.length)

  const batches = (events: ReadonlyArray<ReadonlyArray<string>>) =>
    Effect.exit(Stream.runCollect(Stream.chunks(decodeEvents(Stream.fromArrays(...events), decodeWord))))

  it.effect("keeps the batches the body delivered, without the skipped events", () =>
    Effect.gen(function* () {
      expect(yield* batches([["a", "bb", "skip"], ["skip"], ["ccc"]])).toEqual(Exit.succeed([[1, 2], [3]]))
    })
  )

  it.effect("fails at a failing event, after the events before it in its batch, and reads nothing after it", () =>
    Effect.gen(function* () {
      const received: Array<number> = []
      const ending = yield* Effect.exit(
        Stream.runForEach(decodeEvents(Stream.fromArrays(["a"], ["bb", "bad", "ccc"], ["dddd"]), decodeWord), (n) =>
          Effect.sync(() => void received.push(n))
        )
      )
      expect(received).toEqual([1, 2])
      expect(Exit.isFailure(ending) && ending.cause.reasons[0]?._tag === "Fail").toBe(true)
    })
  )
})
