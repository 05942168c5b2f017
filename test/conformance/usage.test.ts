/**
 * Conformance: the usage each provider reports reaches the `openai` SDK in OpenAI's shape,
 * cache reads, cache writes and reasoning included, in plain answers and at the end of
 * streams; and usage that cannot be billed, or a successful answer that is not JSON, is a
 * 502 `upstream_error` after exactly one upstream call (the upstream did the work: a retry
 * would be another paid call).
 */
import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { ScriptedUsage } from "../fakes/script.ts"
import { type Conformance, models, quickRetries, resetAll, startConformance, type Vendor } from "./support.ts"

let setup: Conformance
beforeAll(async () => {
  // Retries stay on: the point is that a Protocol failure is not retried.
  setup = await startConformance(quickRetries)
})
afterAll(() => setup.close())
beforeEach(() => resetAll(setup.upstreams))

const hello: Array<OpenAI.ChatCompletionMessageParam> = [{ role: "user", content: "Hi there" }]

const scripted: ScriptedUsage = { input: 100, output: 50, cacheRead: 1000, cacheWrite: 20, reasoning: 30 }
const totals = { prompt_tokens: 1120, completion_tokens: 50, total_tokens: 1170 }
/** What each provider reports of the scripted usage: OpenAI and Gemini have no cache writes, Anthropic no reasoning. */
const expected: Record<Vendor, object> = {
  openai: {
    ...totals,
    prompt_tokens_details: { cached_tokens: 1000 },
    completion_tokens_details: { reasoning_tokens: 30 }
  },
  anthropic: { ...totals, prompt_tokens_details: { cached_tokens: 1000, cache_write_tokens: 20 } },
  gemini: {
    ...totals,
    prompt_tokens_details: { cached_tokens: 1000 },
    completion_tokens_details: { reasoning_tokens: 30 }
  }
}

const failureOf = (run: () => Promise<unknown>) =>
  run().then(
    () => {
      throw new Error("expected the call to fail")
    },
    (error: unknown) => error as InstanceType<typeof OpenAI.APIError>
  )

const absurd: ReadonlyArray<readonly [string, ScriptedUsage]> = [
  ["fractional", { input: 10.5, output: 3 }],
  ["negative", { input: -1000, output: 3 }],
  ["beyond 2³¹ − 1", { input: 2 ** 31, output: 3 }]
]

describe.each(models)("$model usage", ({ model, vendor }) => {
  const fake = () => setup.upstreams[vendor]

  it("a plain answer carries the cache and reasoning details", async () => {
    fake().script({ kind: "reply", reply: { text: "Cached answer.", usage: scripted } })
    const completion = await setup.client.chat.completions.create({ model, messages: hello })
    expect(completion.choices[0]?.message.content).toBe("Cached answer.")
    expect(completion.usage).toEqual(expected[vendor])
  })

  it("a stream asked for include_usage ends with the final usage, details included", async () => {
    fake().script({ kind: "reply", reply: { text: "Cached answer.", usage: scripted } })
    const stream = await setup.client.chat.completions.create({
      model,
      messages: hello,
      stream: true,
      stream_options: { include_usage: true }
    })
    const chunks: Array<OpenAI.ChatCompletionChunk> = []
    for await (const chunk of stream) chunks.push(chunk)
    // Providers may report usage more than once (Anthropic at message_start, Gemini on every
    // event); whatever the client is shown along the way, the stream ends with the final one.
    expect(chunks.at(-1)?.choices).toEqual([])
    expect(chunks.at(-1)?.usage).toEqual(expected[vendor])
    const content = chunks.filter((chunk) => chunk.choices.length > 0)
    expect(content.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe("Cached answer.")
    expect(content.every((chunk) => chunk.usage === undefined || chunk.usage === null)).toBe(true)
  })

  it.each(absurd)("%s usage is a 502 upstream_error after exactly one upstream call", async (_, usage) => {
    fake().script({ kind: "reply", reply: { text: "Paid for.", usage } })
    const error = await failureOf(() => setup.client.chat.completions.create({ model, messages: hello }))
    expect(error).toBeInstanceOf(OpenAI.InternalServerError)
    expect(error.status).toBe(502)
    expect(error.type).toBe("upstream_error")
    expect(fake().received).toHaveLength(1)
  })

  it("a successful answer that is not JSON is a 502 upstream_error after exactly one upstream call", async () => {
    fake().script({ kind: "raw", status: 200, body: "<html>upstream proxy page</html>" })
    const error = await failureOf(() => setup.client.chat.completions.create({ model, messages: hello }))
    expect(error.status).toBe(502)
    expect(error.type).toBe("upstream_error")
    expect(fake().received).toHaveLength(1)
  })

  // Anthropic reports the input at message_start, before the first chunk: a 502. OpenAI and
  // Gemini report it after the stream began: an error event.
  it.each(absurd)("%s usage in a stream fails it after exactly one upstream call", async (_, usage) => {
    fake().script({ kind: "reply", reply: { text: "Paid for.", usage } })
    const error = await failureOf(async () => {
      const stream = await setup.client.chat.completions.create({ model, messages: hello, stream: true })
      for await (const _chunk of stream) {
        // read to the end
      }
    })
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(error.status).toBe(vendor === "anthropic" ? 502 : undefined)
    expect(error.message).toContain("The upstream LLM service sent an answer the gateway cannot use")
    expect(fake().received).toHaveLength(1)
  })
})
