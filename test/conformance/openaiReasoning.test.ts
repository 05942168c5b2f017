/**
 * Conformance: OpenAI reasoning models through the gateway, with the official `openai` SDK as
 * the client and the OpenAI fake refusing what OpenAI refuses (max_tokens, a temperature other
 * than 1): a call with no limit, with reasoning_effort, with the older max_tokens; the model's
 * refused sampling fields, and limits beyond the model's maximum, answered before any upstream
 * call.
 */
import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type Conformance, resetAll, startConformance } from "./support.ts"

let setup: Conformance
beforeAll(async () => {
  setup = await startConformance({ LOG_LEVEL: "none" })
})
afterAll(() => setup.close())
beforeEach(() => resetAll(setup.upstreams))

const fake = () => setup.upstreams.openai
const messages: Array<OpenAI.ChatCompletionMessageParam> = [{ role: "user", content: "Prove it." }]

const badRequest = (run: () => Promise<unknown>) =>
  run().then(
    () => {
      throw new Error("expected a 400")
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(OpenAI.BadRequestError)
      return error as InstanceType<typeof OpenAI.BadRequestError>
    }
  )

describe("a reasoning model through the gateway", () => {
  it("answers a call with no limit: the model's maximum output goes as max_completion_tokens", async () => {
    const { data, response } = await setup.client.chat.completions.create({ model: "o4-mini", messages }).withResponse()
    expect(data.choices[0]?.message.content).toBe("Echo: Prove it.")
    expect(data.model).toBe("o4-mini")
    const body = fake().received[0]?.body
    expect(body).toMatchObject({ model: "o4-mini", max_completion_tokens: 100000 })
    expect(body).not.toHaveProperty("max_tokens")
    expect(response.headers.get("x-gateway-max-tokens")).toBe("100000")
  })

  it("passes reasoning_effort as sent, and streams", async () => {
    const stream = setup.client.chat.completions.stream({ model: "gpt-5-mini", messages, reasoning_effort: "minimal" })
    const final = await stream.finalChatCompletion()
    expect(final.choices[0]?.message.content).toBe("Echo: Prove it.")
    expect(fake().received[0]?.body).toMatchObject({
      model: "gpt-5-mini",
      reasoning_effort: "minimal",
      max_completion_tokens: 128000,
      stream: true
    })
  })

  it("takes the older max_tokens from a client and sends it as max_completion_tokens", async () => {
    await setup.client.chat.completions.create({ model: "o3", messages, max_tokens: 2048 })
    expect(fake().received[0]?.body).toMatchObject({ max_completion_tokens: 2048 })
    expect(fake().received[0]?.body).not.toHaveProperty("max_tokens")
  })

  it("drops a refused sampling field at its neutral value, and refuses any other value before calling OpenAI", async () => {
    await setup.client.chat.completions.create({ model: "o3", messages, temperature: 1, presence_penalty: 0 })
    expect(fake().received[0]?.body).not.toHaveProperty("temperature")
    expect(fake().received[0]?.body).not.toHaveProperty("presence_penalty")
    const refused = await badRequest(() =>
      setup.client.chat.completions.create({ model: "o3", messages, temperature: 0.2 })
    )
    expect(refused.param).toBe("temperature")
    expect(refused.message).toContain("The model o3 does not support temperature; leave it out or set it to 1")
    const streamed = await badRequest(() =>
      setup.client.chat.completions.create({ model: "o3", messages, top_p: 0.5, stream: true })
    )
    expect(streamed.param).toBe("top_p")
    expect(fake().received).toHaveLength(1)
  })

  it("refuses a limit above the model's maximum output, naming the field, before calling OpenAI", async () => {
    const refused = await badRequest(() =>
      setup.client.chat.completions.create({ model: "o4-mini", messages, max_completion_tokens: 100001 })
    )
    expect(refused.param).toBe("max_completion_tokens")
    expect(refused.message).toContain("max_completion_tokens is too large: 100001")
    expect(fake().received).toHaveLength(0)
  })
})

describe("a model that does not reason", () => {
  it("gets no reasoning_effort, which OpenAI would refuse", async () => {
    const completion = await setup.client.chat.completions.create({
      model: "gpt-4.1",
      messages,
      reasoning_effort: "low"
    })
    expect(completion.choices[0]?.message.content).toBe("Echo: Prove it.")
    expect(fake().received[0]?.body).not.toHaveProperty("reasoning_effort")
    expect(fake().received[0]?.body).toMatchObject({ max_tokens: 32768 })
  })
})
