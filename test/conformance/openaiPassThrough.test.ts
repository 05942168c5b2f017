/**
 * Conformance: fields reach OpenAI as the client sent them, with the official `openai` SDK as
 * the client; what OpenAI returns that clients use comes back (log probabilities, service tier);
 * the gateway's own message fields never reach OpenAI, which refuses unknown message keys.
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
const messages: Array<OpenAI.ChatCompletionMessageParam> = [{ role: "user", content: "Hi there" }]

describe("OpenAI fields through the gateway", () => {
  it("reach OpenAI untouched, the end-user fields excepted", async () => {
    const fields = {
      service_tier: "flex",
      metadata: { team: "search", run: "42" },
      prompt_cache_key: "tenant-7",
      safety_identifier: "user-hash",
      store: true,
      verbosity: "low",
      seed: 11,
      user: "someone"
    } as const
    const completion = await setup.client.chat.completions.create({ model: "gpt-5-nano", messages, ...fields })
    const { safety_identifier: _safety, user: _user, ...untouched } = fields
    const body = fake().received[0]?.body
    expect(body).toMatchObject(untouched)
    // The end user OpenAI sees is the gateway's id of the authenticated user, never the body's.
    expect(body.user).toMatch(/^user_[A-Za-z0-9_-]{32}$/)
    expect(body.safety_identifier).toBe(body.user)
    expect(completion.service_tier).toBe("flex")
    expect(completion.system_fingerprint).toBe("fp_fake")
  })

  it("a field the gateway does not know reaches OpenAI untouched, and OpenAI's own refusal comes back", async () => {
    const extended = { model: "gpt-4.1", messages, foo_bar: { nested: [1, "two"] } }
    const refused = await setup.client.chat.completions.create(extended).catch((error: unknown) => error)
    expect(fake().received[0]?.body.foo_bar).toEqual({ nested: [1, "two"] })
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError)
    expect((refused as InstanceType<typeof OpenAI.BadRequestError>).message).toContain(
      "Unrecognized request argument supplied: foo_bar"
    )
  })

  it("logprobs: true returns the log probabilities, in plain answers and streams", async () => {
    const completion = await setup.client.chat.completions.create({
      model: "gpt-4.1-mini",
      messages,
      logprobs: true,
      top_logprobs: 2
    })
    const content = completion.choices[0]?.logprobs?.content
    expect(content?.map((entry) => entry.token)).toEqual(["Echo: ", "Hi ", "there"])
    expect(content?.[0]?.top_logprobs).toHaveLength(2)

    const stream = await setup.client.chat.completions.create({
      model: "gpt-4.1-mini",
      messages,
      logprobs: true,
      stream: true
    })
    const tokens: Array<string> = []
    for await (const chunk of stream) {
      for (const entry of chunk.choices[0]?.logprobs?.content ?? []) tokens.push(entry.token)
    }
    expect(tokens).toEqual(["Echo: ", "Hi ", "there"])
  })

  it('refuses service_tier "priority", which the catalog does not price', async () => {
    const refused = await setup.client.chat.completions
      .create({ model: "gpt-4o", messages, service_tier: "priority" })
      .catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError)
    expect((refused as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("service_tier")
    expect(fake().received).toHaveLength(0)
  })

  it("an assistant message echoed with the gateway's reasoning fields reaches OpenAI without them", async () => {
    const echoed = {
      role: "assistant",
      content: "Earlier answer.",
      reasoning_content: "Thought about it.",
      thinking_blocks: [{ type: "thinking", thinking: "Thought about it.", signature: "sig" }]
    }
    const conversation = [
      ...messages,
      echoed,
      { role: "user", content: "Go on" }
    ] as Array<OpenAI.ChatCompletionMessageParam>
    const completion = await setup.client.chat.completions.create({ model: "gpt-4o", messages: conversation })
    expect(completion.choices[0]?.message.content).toBe("Echo: Go on")
    expect(fake().received[0]?.body.messages[1]).toEqual({ role: "assistant", content: "Earlier answer." })
  })
})
