/**
 * Answers of OpenAI-compatible servers (vLLM, llama.cpp, LM Studio, Ollama) differ from OpenAI's
 * in ways that change nothing for a client: nulls for absent objects, extra fields, their own
 * finish reasons, usage on every chunk. They are served as normal answers in OpenAI's shape; only
 * an answer that cannot be understood at all is a Protocol failure.
 */
import { describe, expect, it } from "vitest"
import { toFinishReason } from "../../../src/providers/openai/finishReason.ts"
import { streamTranslator, toChatCompletion } from "../../../src/providers/openai/translate.ts"
import { jsonFixture, sseFixture } from "../../support/fixtures.ts"
import { failure, success } from "../../support/result.ts"
import { isUsageChunk, sequence, translated, usages } from "./translated.ts"

/** A recorded answer, read as the plain JSON it is. */
const answer = (path: string) => jsonFixture(path) as { readonly choices: ReadonlyArray<Record<string, unknown>> }

const events = (path: string) =>
  sseFixture(path)
    .filter((event) => event.data !== "[DONE]")
    .map((event) => JSON.parse(event.data) as Record<string, unknown>)

describe("a compatible server's whole answer", () => {
  it("is OpenAI's shape: nulls and empty tool calls left out, log probabilities kept, extra fields dropped", () => {
    const completion = success(toChatCompletion(jsonFixture("openai/vllm-completion.json"), "llama-3.1-8b"))
    expect(completion).toMatchObject({ model: "llama-3.1-8b", system_fingerprint: null })
    expect(completion).not.toHaveProperty("service_tier")
    expect(completion).not.toHaveProperty("prompt_logprobs")
    const [choice] = completion.choices
    expect(choice?.message).toEqual({ role: "assistant", content: "Hello there!", refusal: null })
    expect(choice?.finish_reason).toBe("stop")
    expect(choice?.logprobs).toEqual(answer("openai/vllm-completion.json").choices[0]?.["logprobs"])
    expect(choice).not.toHaveProperty("stop_reason")
    expect(completion.usage).toEqual({ prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 })
  })

  it("OpenAI's log probabilities and service tier come back as OpenAI sent them", () => {
    const raw = answer("openai/completion-logprobs.json")
    const completion = success(toChatCompletion(raw, "gpt-4.1-mini"))
    expect(completion.choices[0]?.logprobs).toEqual(raw.choices[0]?.["logprobs"])
    expect(completion).toMatchObject({ service_tier: "flex", system_fingerprint: "fp_6f2eabb9a5" })
  })

  it("reads vLLM's `reasoning`, a missing total and a missing content", () => {
    const raw = answer("openai/vllm-completion.json")
    const variant = {
      ...raw,
      choices: [{ ...raw.choices[0], message: { role: "assistant", reasoning: "Think first." } }],
      usage: { prompt_tokens: 12, completion_tokens: 3, completion_tokens_details: null }
    }
    const completion = success(toChatCompletion(variant, "qwen3"))
    expect(completion.choices[0]?.message).toEqual({
      role: "assistant",
      content: null,
      reasoning_content: "Think first."
    })
    expect(completion.usage).toEqual({ prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 })
  })

  it("an answer that cannot be understood at all is a Protocol failure", () => {
    for (const raw of [
      { error: "overloaded" },
      { ...(jsonFixture("openai/vllm-completion.json") as object), choices: null }
    ]) {
      expect(failure(toChatCompletion(raw, "m"))._tag).toBe("Protocol")
    }
  })
})

describe("a compatible server's stream", () => {
  const recorded = () => events("openai/vllm-stream-continuous-usage.sse")

  it("usage on every chunk: a usage chunk whenever it changes, the final usage last, `abort` as `length`", () => {
    const { chunks, failure } = translated(streamTranslator("qwen3", 1), recorded())
    expect(failure).toBeUndefined()
    expect(sequence(chunks)).toEqual([
      { role: "assistant", content: "" },
      { usage: { prompt_tokens: 20, completion_tokens: 0, total_tokens: 20 } },
      { reasoning_content: "Greeting." },
      { usage: { prompt_tokens: 20, completion_tokens: 2, total_tokens: 22 } },
      { content: "Hi" },
      { usage: { prompt_tokens: 20, completion_tokens: 3, total_tokens: 23 } },
      { content: " there" },
      { usage: { prompt_tokens: 20, completion_tokens: 4, total_tokens: 24 } },
      { content: "" },
      { usage: { prompt_tokens: 20, completion_tokens: 4, total_tokens: 24 } }
    ])
    expect(chunks.find((chunk) => chunk.choices[0]?.finish_reason !== null && !isUsageChunk(chunk))).toMatchObject({
      choices: [{ finish_reason: "length" }]
    })
    expect(usages(chunks).at(-1)).toEqual(chunks.at(-1)?.usage)
    expect(chunks.every((chunk) => chunk.model === "qwen3" && !("stop_reason" in (chunk.choices[0] ?? {})))).toBe(true)
  })

  it("a chunk that is not a chunk at all fails the stream as Protocol", () => {
    const result = translated(streamTranslator("qwen3", 1), [...recorded().slice(0, 2), { choices: "none" }])
    expect(result.failure?._tag).toBe("Protocol")
    expect(result.chunks.length).toBeGreaterThan(0)
  })
})

describe("finish reasons outside OpenAI's five", () => {
  it.each([
    ["stop", "stop"],
    ["tool_calls", "tool_calls"],
    ["function_call", "function_call"],
    ["abort", "length"],
    ["max_tokens", "length"],
    ["MAX_TOKENS", "length"],
    ["error", "length"],
    ["tool_use", "tool_calls"],
    ["SAFETY", "content_filter"],
    ["eos_token", "stop"],
    ["end_turn", "stop"],
    ["something_new", "stop"],
    ["", null],
    [null, null]
  ] as const)("%s → %s", (reason, expected) => {
    expect(toFinishReason(reason)).toBe(expected)
  })
})
