/**
 * The OpenAI fake refuses what the real API refuses today, with the real error bodies, so that
 * conformance tests fail when the gateway sends what OpenAI would refuse.
 */
import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { FakeUpstream } from "./FakeUpstream.ts"
import { startOpenAIFake } from "./openai.ts"

let fake: FakeUpstream
let client: OpenAI
beforeAll(async () => {
  fake = await startOpenAIFake("sk-test")
  client = new OpenAI({ apiKey: "sk-test", baseURL: `${fake.url}/v1`, maxRetries: 0 })
})
afterAll(() => fake.close())
beforeEach(() => fake.reset())

const messages = [{ role: "user" as const, content: "Hi there" }]

const refusal = (run: () => Promise<unknown>) =>
  run().then(
    () => {
      throw new Error("expected the fake to refuse the request")
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(OpenAI.BadRequestError)
      const { message, param, code } = error as InstanceType<typeof OpenAI.BadRequestError>
      return { message, param, code }
    }
  )

describe("OpenAI fake: reasoning models", () => {
  it("refuse max_tokens, pointing to max_completion_tokens", async () => {
    expect(
      await refusal(() => client.chat.completions.create({ model: "o4-mini", messages, max_tokens: 100 }))
    ).toEqual({
      message:
        "400 Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
      param: "max_tokens",
      code: "unsupported_parameter"
    })
    const answered = await client.chat.completions.create({ model: "gpt-5-mini", messages, max_completion_tokens: 100 })
    expect(answered.choices[0]?.message.content).toBe("Echo: Hi there")
  })

  it("refuse a temperature other than 1", async () => {
    expect(await refusal(() => client.chat.completions.create({ model: "o3", messages, temperature: 0.2 }))).toEqual({
      message:
        "400 Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported.",
      param: "temperature",
      code: "unsupported_value"
    })
    await expect(client.chat.completions.create({ model: "o3", messages, temperature: 1 })).resolves.toBeDefined()
  })

  it("are the only ones to take reasoning_effort", async () => {
    const refused = await refusal(() =>
      client.chat.completions.create({ model: "gpt-4.1", messages, reasoning_effort: "low" })
    )
    expect(refused.param).toBe("reasoning_effort")
    await expect(
      client.chat.completions.create({ model: "gpt-5-nano", messages, reasoning_effort: "minimal" })
    ).resolves.toBeDefined()
  })
})

describe("OpenAI fake: request shape", () => {
  it("refuses a field it does not know, and a message key it does not know", async () => {
    const unknown = { model: "gpt-4.1", messages, foo_bar: 1 }
    expect((await refusal(() => client.chat.completions.create(unknown))).message).toBe(
      "400 Unrecognized request argument supplied: foo_bar"
    )
    const echoed = [{ role: "assistant" as const, content: "Hello.", reasoning_content: "…" }, ...messages]
    expect((await refusal(() => client.chat.completions.create({ model: "gpt-4.1", messages: echoed }))).message).toBe(
      "400 Additional properties are not allowed ('reasoning_content' was unexpected) - 'messages.0'"
    )
  })

  it("records every body as sent", async () => {
    const request = { model: "gpt-4.1", messages, metadata: { team: "search" }, service_tier: "flex" as const }
    const completion = await client.chat.completions.create(request)
    expect(fake.received[0]?.body).toEqual(request)
    expect(completion.service_tier).toBe("flex")
  })
})

describe("OpenAI fake: log probabilities", () => {
  it("come with each piece when asked, in plain answers and streams", async () => {
    const completion = await client.chat.completions.create({
      model: "gpt-4.1",
      messages,
      logprobs: true,
      top_logprobs: 2
    })
    const content = completion.choices[0]?.logprobs?.content
    expect(content?.map((entry) => entry.token)).toEqual(["Echo: ", "Hi ", "there"])
    expect(content?.[0]?.top_logprobs).toHaveLength(2)
    const plain = await client.chat.completions.create({ model: "gpt-4.1", messages })
    expect(plain.choices[0]?.logprobs).toBeNull()

    const stream = await client.chat.completions.create({ model: "gpt-4.1", messages, logprobs: true, stream: true })
    const tokens: Array<string> = []
    for await (const chunk of stream)
      tokens.push(...(chunk.choices[0]?.logprobs?.content ?? []).map((entry) => entry.token))
    expect(tokens).toEqual(["Echo: ", "Hi ", "there"])
  })
})

describe("OpenAI fake: structured outputs", () => {
  it("json_object needs the word JSON in the messages", async () => {
    const refused = await refusal(() =>
      client.chat.completions.create({ model: "gpt-4.1", messages, response_format: { type: "json_object" } })
    )
    expect(refused.param).toBe("messages")
    await expect(
      client.chat.completions.create({
        model: "gpt-4.1",
        messages: [{ role: "user", content: "Answer in JSON." }],
        response_format: { type: "json_object" }
      })
    ).resolves.toBeDefined()
  })

  it("strict json_schema refuses open objects and optional properties, nested ones included", async () => {
    const format = (schema: Record<string, unknown>) => ({
      type: "json_schema" as const,
      json_schema: { name: "answer", strict: true, schema }
    })
    const nestedOpen = {
      type: "object",
      properties: { city: { type: "object", properties: { name: { type: "string" } }, required: ["name"] } },
      required: ["city"],
      additionalProperties: false
    }
    expect(
      await refusal(() =>
        client.chat.completions.create({ model: "gpt-4.1", messages, response_format: format(nestedOpen) })
      )
    ).toMatchObject({
      message:
        "400 Invalid schema for response_format 'answer': In context=(), 'additionalProperties' is required to be supplied and to be false.",
      param: "response_format"
    })
    const optional = {
      type: "object",
      properties: { a: { type: "string" } },
      required: [],
      additionalProperties: false
    }
    expect(
      (
        await refusal(() =>
          client.chat.completions.create({ model: "gpt-4.1", messages, response_format: format(optional) })
        )
      ).message
    ).toContain("Missing 'a'")
  })
})
