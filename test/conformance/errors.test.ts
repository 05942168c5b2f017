/**
 * Conformance: what the `openai` SDK sees when things go wrong, for each provider —
 * upstream request problems as 400 with the upstream's message, upstream auth and
 * outages as 503 (with Retry-After when known), requests a provider cannot serve refused
 * before any upstream call, and failures after the stream began as an error event.
 */
import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type Conformance, models, resetAll, startConformance } from "./support.ts"

let setup: Conformance
beforeAll(async () => {
  // The scripted upstream failures are logged loudly on purpose; the test output does not need them.
  // This suite checks what each failure looks like to the client, one upstream call each: retries and
  // breakers are tested in retries.test.ts and the resilience suites.
  setup = await startConformance({ LOG_LEVEL: "none", RETRY_ENABLED: "false", CIRCUIT_BREAKER_ENABLED: "false" })
})
afterAll(() => setup.close())
beforeEach(() => resetAll(setup.upstreams))

const hello: Array<OpenAI.ChatCompletionMessageParam> = [{ role: "user", content: "Hi there" }]

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected the call to fail")
    },
    (error: unknown) => error as InstanceType<typeof OpenAI.APIError>
  )

const drain = async (stream: AsyncIterable<unknown>) => {
  for await (const _ of stream) {
    // read to the end
  }
}

/** Events of each vendor's stream that come before the first content. */
const eventsBeforeText = { openai: 1, anthropic: 3, gemini: 0 } as const

describe.each(models)("$model errors", ({ model, vendor }) => {
  const fake = () => setup.upstreams[vendor]
  const create = (extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) =>
    setup.client.chat.completions.create({ model, messages: hello, ...extra })

  it("an upstream 400 is a BadRequestError carrying the upstream's message", async () => {
    fake().script({ kind: "error", status: 400, message: "prompt is too long: 300000 tokens > 200000 maximum" })
    const error = await failure(create())
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error.message).toContain("prompt is too long: 300000 tokens > 200000 maximum")
    expect(error.type).toBe("validation_error")
  })

  it.each([401, 403, 404, 500, 503])("an upstream %i is a 503 service_error", async (status) => {
    fake().script({ kind: "error", status })
    const error = await failure(create())
    expect(error).toBeInstanceOf(OpenAI.InternalServerError)
    expect(error.status).toBe(503)
    expect(error.type).toBe("service_error")
    expect(error.message).not.toContain("Scripted failure")
  })

  it("an upstream 429 is a 503 with the upstream's Retry-After", async () => {
    fake().script({ kind: "error", status: 429, headers: { "retry-after": "7" } })
    const error = await failure(create())
    expect(error.status).toBe(503)
    expect(error.headers?.get("retry-after")).toBe("7")
  })

  it("an error event after the stream began reaches the SDK as an error, after the text so far", async () => {
    fake().script({ kind: "streamError", afterEvents: eventsBeforeText[vendor] + 1, message: "Overloaded" })
    const stream = await setup.client.chat.completions.create({ model, messages: hello, stream: true })
    const texts: Array<string> = []
    const error = await failure(
      (async () => {
        for await (const chunk of stream) texts.push(chunk.choices[0]?.delta.content ?? "")
      })()
    )
    expect(texts.join("")).toBe("Echo: ")
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(error.status).toBeUndefined()
    expect(error.message).toContain("LLM service temporarily unavailable")
  })

  it.each(["cut", "endEarly"] as const)("a stream the upstream %s is an error, not a short answer", async (kind) => {
    fake().script({ kind, afterEvents: eventsBeforeText[vendor] + 2 })
    const stream = await setup.client.chat.completions.create({ model, messages: hello, stream: true })
    const error = await failure(drain(stream))
    expect(error).toBeInstanceOf(OpenAI.APIError)
  })
})

describe("requests a provider cannot serve are refused before any upstream call", () => {
  it("temperature above 1 on an Anthropic model is a 400 naming temperature", async () => {
    const error = await failure(
      setup.client.chat.completions.create({ model: "claude-3", messages: hello, temperature: 1.5 })
    )
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error.param).toBe("temperature")
    expect(setup.upstreams.anthropic.received).toHaveLength(0)

    await setup.client.chat.completions.create({ model: "claude-3", messages: hello, temperature: 1 })
    expect(setup.upstreams.anthropic.received[0]?.body.temperature).toBe(1)
    await setup.client.chat.completions.create({ model: "gpt-4", messages: hello, temperature: 1.5 })
    expect(setup.upstreams.openai.received[0]?.body.temperature).toBe(1.5)
  })

  it("n > 1 on an Anthropic model is a 400 naming n, streamed or not", async () => {
    for (const stream of [false, true]) {
      const error = await failure(
        setup.client.chat.completions.create({ model: "claude-3", messages: hello, n: 2, stream })
      )
      expect(error).toBeInstanceOf(OpenAI.BadRequestError)
      expect(error.param).toBe("n")
    }
    expect(setup.upstreams.anthropic.received).toHaveLength(0)
  })

  it.each(["gpt-4", "gemini-1.5-pro"])("n > 1 on %s gives n choices, streamed or not", async (model) => {
    const plain = await setup.client.chat.completions.create({ model, messages: hello, n: 2 })
    expect(plain.choices.map((choice) => choice.index)).toEqual([0, 1])
    const streamed = await setup.client.chat.completions.stream({ model, messages: hello, n: 2 }).finalChatCompletion()
    expect(streamed.choices.map((choice) => choice.message.content)).toEqual(["Echo: Hi there", "Echo: Hi there"])
    const body = (model === "gpt-4" ? setup.upstreams.openai : setup.upstreams.gemini).received[0]!.body
    expect(model === "gpt-4" ? body.n : body.generationConfig.candidateCount).toBe(2)
  })
})

describe("the gateway's own errors", () => {
  it("an unknown model is a NotFoundError", async () => {
    const error = await failure(setup.client.chat.completions.create({ model: "gpt-9", messages: hello }))
    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    expect(error.param).toBe("model")
  })

  it("a bad token is an AuthenticationError", async () => {
    const stranger = new OpenAI({ baseURL: `${setup.gateway.url}/v1`, apiKey: "not-a-jwt", maxRetries: 0 })
    const error = await failure(stranger.chat.completions.create({ model: "gpt-4", messages: hello }))
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError)
  })

  it("Gemini refusing the gateway's key (HTTP 400 API_KEY_INVALID) is a 503, not the caller's 400", async () => {
    setup.upstreams.gemini.script({
      kind: "raw",
      status: 400,
      body: JSON.stringify({
        error: {
          code: 400,
          message: "API key not valid. Please pass a valid API key.",
          status: "INVALID_ARGUMENT",
          details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID" }]
        }
      })
    })
    const error = await failure(setup.client.chat.completions.create({ model: "gemini-1.5-pro", messages: hello }))
    expect(error.status).toBe(503)
  })
})
