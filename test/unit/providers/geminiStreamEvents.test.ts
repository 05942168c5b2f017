/**
 * Gemini stream events the recorded fixtures do not show, compared exactly: tool calls spread
 * over several events (numbered on from the earlier ones), a usage repeated unchanged (not sent
 * again until the end), and a prompt blocked before any candidate (every choice finishes with
 * content_filter).
 */
import { describe, expect, it } from "vitest"
import { streamOpened, streamTranslator } from "../../../src/providers/gemini/translateResponse.ts"
import { translateAll } from "../../../src/providers/StreamTranslator.ts"
import { success } from "../../support/result.ts"

const context = { id: "chatcmpl-g", created: 1, model: "gemini-2.5-pro" }
const usage = (prompt: number, completion: number) => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
  prompt_tokens_details: { cached_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0 }
})

/** What a client receives: each choice's delta and finish reason, or the usage. */
const received = (choiceCount: number, events: ReadonlyArray<unknown>) =>
  success(
    translateAll(streamTranslator(context, choiceCount), [
      streamOpened,
      ...events.map((event) => JSON.stringify(event))
    ])
  ).map((chunk) =>
    chunk.choices.length === 0
      ? { usage: chunk.usage }
      : chunk.choices.map((choice) => ({ index: choice.index, delta: choice.delta, finish: choice.finish_reason }))
  )

const callEvent = (name: string, finishReason?: string) => ({
  candidates: [
    {
      content: { role: "model", parts: [{ functionCall: { name, args: { city: "Paris" } } }] },
      index: 0,
      ...(finishReason === undefined ? {} : { finishReason })
    }
  ],
  usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 4, totalTokenCount: 14 }
})

const role = (index: number) => ({ index, delta: { role: "assistant", content: "" }, finish: null })
const call = (index: number, name: string) => ({
  index,
  id: `call_g_0_${index}`,
  type: "function",
  function: { name, arguments: '{"city":"Paris"}' }
})

describe("Gemini stream events → chunks", () => {
  it("numbers tool calls across events, and sends an unchanged usage again only at the end", () => {
    expect(received(1, [callEvent("weather"), callEvent("time", "STOP")])).toEqual([
      [role(0)],
      [{ index: 0, delta: { tool_calls: [call(0, "weather")] }, finish: null }],
      { usage: usage(10, 4) },
      [{ index: 0, delta: { tool_calls: [call(1, "time")] }, finish: null }],
      [{ index: 0, delta: {}, finish: "tool_calls" }],
      { usage: usage(10, 4) }
    ])
  })

  it("finishes every choice with content_filter when the prompt is blocked before any candidate", () => {
    const blocked = {
      promptFeedback: { blockReason: "SAFETY" },
      usageMetadata: { promptTokenCount: 5, totalTokenCount: 5 }
    }
    expect(received(2, [blocked])).toEqual([
      [role(0), role(1)],
      [{ index: 0, delta: {}, finish: "content_filter" }],
      [{ index: 1, delta: {}, finish: "content_filter" }],
      { usage: usage(5, 0) }
    ])
  })
})
