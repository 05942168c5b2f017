/**
 * What each provider reports of cache reads, cache writes and reasoning, translated into
 * OpenAI's usage details, in whole answers and in streams; and the usage chunks of a
 * stream: each new cumulative usage as soon as the upstream reports it, the final one last.
 */
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import {
  streamTranslator as anthropicStream,
  toChatCompletion as anthropicCompletion
} from "../../../src/providers/anthropic/translateResponse.ts"
import { Message } from "../../../src/providers/anthropic/wire.ts"
import {
  streamOpened,
  streamTranslator as geminiStream,
  toChatCompletion as geminiCompletion
} from "../../../src/providers/gemini/translateResponse.ts"
import { GenerateContentResponse } from "../../../src/providers/gemini/wire.ts"
import {
  streamTranslator as openaiStream,
  toChatCompletion as openaiCompletion
} from "../../../src/providers/openai/translate.ts"
import { jsonFixture, sseFixture } from "../../support/fixtures.ts"
import { success } from "../../support/result.ts"
import { isUsageChunk, sequence, translated, usages } from "./translated.ts"

const context = { id: "chatcmpl-u1", created: 1717000000, model: "public-model" }
const events = (path: string) => sseFixture(path).map((event) => event.data)
const jsonEvents = (path: string) =>
  events(path)
    .filter((data) => data !== "[DONE]")
    .map((data) => JSON.parse(data) as Record<string, unknown>)

describe("OpenAI usage details", () => {
  it("keeps cached and reasoning tokens of a recorded o-series answer, and drops the details it does not price", () => {
    const completion = success(openaiCompletion(jsonFixture("openai/completion-cached-reasoning.json"), "o4-mini"))
    expect(completion.usage).toEqual({
      prompt_tokens: 2006,
      completion_tokens: 300,
      total_tokens: 2306,
      prompt_tokens_details: { cached_tokens: 1920 },
      completion_tokens_details: { reasoning_tokens: 192 }
    })
  })

  it("a recorded stream: one usage chunk, last, with its details", () => {
    const { chunks, failure } = translated(openaiStream("gpt-4", 1), jsonEvents("openai/stream-tool-call.sse"))
    expect(failure).toBeUndefined()
    expect(chunks.filter(isUsageChunk)).toEqual([chunks.at(-1)])
    expect(chunks.at(-1)?.usage).toEqual({
      prompt_tokens: 9,
      completion_tokens: 2,
      total_tokens: 11,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 }
    })
  })

  it("usage on a chunk that still has choices goes out as a usage chunk after it", () => {
    const recorded = jsonEvents("openai/stream-tool-call.sse")
    const usage = recorded.at(-1)!.usage
    // As some compatible servers send it: on the finish chunk, and no separate usage chunk.
    const onFinish = [...recorded.slice(0, -2), { ...recorded.at(-2)!, usage }]
    const { chunks } = translated(openaiStream("gpt-4", 1), onFinish)
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("tool_calls")
    expect(chunks.at(-2)).not.toHaveProperty("usage")
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 2 } })
  })

  it("usage reported before the last chunks is sent again at the end, so that the final usage ends the stream", () => {
    const recorded = jsonEvents("openai/stream-tool-call.sse")
    const usage = recorded.at(-1)!.usage
    const early = [recorded[0]!, { ...recorded[1]!, usage }, ...recorded.slice(2, -1)]
    const { chunks } = translated(openaiStream("gpt-4", 1), early)
    expect(chunks.filter(isUsageChunk)).toHaveLength(2)
    expect(chunks[2]).toMatchObject({ choices: [], usage: { prompt_tokens: 9 } })
    expect(chunks.at(-1)).toBe(chunks[2])
  })
})

describe("Anthropic usage details", () => {
  it("a recorded cached answer: reads and writes are prompt tokens, named apart", () => {
    const message = Schema.decodeUnknownSync(Message)(jsonFixture("anthropic/message-cache.json"))
    expect(success(anthropicCompletion(message, context)).usage).toEqual({
      prompt_tokens: 35 + 2048 + 10240,
      completion_tokens: 420,
      total_tokens: 35 + 2048 + 10240 + 420,
      prompt_tokens_details: { cached_tokens: 10240, cache_write_tokens: 2048 }
    })
  })

  it("a recorded cached stream: the input usage right after the role, the cumulative total after the finish (never a sum)", () => {
    const { chunks, failure } = translated(anthropicStream(context), jsonEvents("anthropic/stream-cache.sse"))
    expect(failure).toBeUndefined()
    const details = { cached_tokens: 10240, cache_write_tokens: 2048 }
    expect(sequence(chunks)).toEqual([
      { role: "assistant", content: "" },
      { usage: { prompt_tokens: 12323, completion_tokens: 1, total_tokens: 12324, prompt_tokens_details: details } },
      { content: "Summar" },
      { content: "ised." },
      {},
      { usage: { prompt_tokens: 12323, completion_tokens: 420, total_tokens: 12743, prompt_tokens_details: details } }
    ])
    expect(chunks.every((chunk) => chunk.id === "msg_2")).toBe(true)
  })

  it("a stream without message_delta finishes at message_stop, and its usage is sent again to end it", () => {
    const recorded = jsonEvents("anthropic/stream-cache.sse").filter((event) => event.type !== "message_delta")
    const { chunks } = translated(anthropicStream(context), recorded)
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("stop")
    expect(usages(chunks)).toEqual([
      expect.objectContaining({ completion_tokens: 1 }),
      expect.objectContaining({ completion_tokens: 1 })
    ])
    expect(isUsageChunk(chunks.at(-1)!)).toBe(true)
  })
})

describe("Gemini usage details", () => {
  const decode = Schema.decodeUnknownSync(GenerateContentResponse)

  it("cached content, thinking and tool-use prompts: thinking is completion and reasoning, tool-use prompts are prompt", () => {
    const response = decode({
      candidates: [{ content: { parts: [{ text: "Done." }] }, finishReason: "STOP", index: 0 }],
      usageMetadata: {
        promptTokenCount: 5000,
        candidatesTokenCount: 40,
        totalTokenCount: 5300,
        cachedContentTokenCount: 4096,
        thoughtsTokenCount: 200,
        toolUsePromptTokenCount: 60
      }
    })
    expect(success(geminiCompletion(response, context)).usage).toEqual({
      prompt_tokens: 5060,
      completion_tokens: 240,
      total_tokens: 5300,
      prompt_tokens_details: { cached_tokens: 4096 },
      completion_tokens_details: { reasoning_tokens: 200 }
    })
  })

  it("a recorded thinking stream: thoughts stay out of the content (reasoning_content), each changed running total follows its event", () => {
    const { chunks, failure } = translated(geminiStream(context, 1), [
      streamOpened,
      ...events("gemini/stream-thinking.sse")
    ])
    expect(failure).toBeUndefined()
    const usage = (candidates: number) => ({
      usage: {
        prompt_tokens: 4120,
        completion_tokens: 180 + candidates,
        total_tokens: 4120 + 180 + candidates,
        prompt_tokens_details: { cached_tokens: 4096 },
        completion_tokens_details: { reasoning_tokens: 180 }
      }
    })
    // The third event repeats the running total with no text: it sends nothing.
    expect(sequence(chunks)).toEqual([
      { role: "assistant", content: "" },
      { reasoning_content: "Weighing the question." },
      usage(0),
      { content: "The answer" },
      usage(3),
      { content: " is 42." },
      {},
      usage(7)
    ])
  })

  it("a last event without usage is followed by the usage again, so that the final usage ends the stream", () => {
    const recorded = events("gemini/stream-thinking.sse")
    const last = JSON.parse(recorded.at(-1)!) as Record<string, unknown>
    const { usageMetadata: _, ...withoutUsage } = last
    const { chunks } = translated(geminiStream(context, 1), [
      streamOpened,
      ...recorded.slice(0, -1),
      JSON.stringify(withoutUsage)
    ])
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("stop")
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 183 } })
  })
})
