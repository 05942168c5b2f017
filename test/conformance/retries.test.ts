/**
 * Conformance: retries through the real adapters and fake upstreams. A provider that fails
 * twice and then answers is answered on the third attempt; a request problem is not retried.
 */
import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type Conformance, models, quickRetries, resetAll, startConformance } from "./support.ts"

let setup: Conformance
beforeAll(async () => {
  setup = await startConformance(quickRetries)
})
afterAll(() => setup.close())
beforeEach(() => resetAll(setup.upstreams))

const hello: Array<OpenAI.ChatCompletionMessageParam> = [{ role: "user", content: "Hi there" }]

describe.each(models)("$model retries", ({ model, vendor }) => {
  it("two upstream failures, then an answer on the third attempt", async () => {
    setup.upstreams[vendor].script({ kind: "error", status: 503 }, { kind: "error", status: 500 })
    const completion = await setup.client.chat.completions.create({ model, messages: hello })
    expect(completion.choices[0]?.message.content).toContain("Echo: ")
    expect(setup.upstreams[vendor].received).toHaveLength(3)
  })

  it("streams are retried until their first chunk", async () => {
    setup.upstreams[vendor].script({ kind: "error", status: 503 })
    const stream = await setup.client.chat.completions.create({ model, messages: hello, stream: true })
    let text = ""
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ""
    expect(text).toContain("Echo: ")
    expect(setup.upstreams[vendor].received).toHaveLength(2)
  })

  it("an upstream 400 is not retried", async () => {
    setup.upstreams[vendor].script({ kind: "error", status: 400, message: "bad request" })
    await expect(setup.client.chat.completions.create({ model, messages: hello })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError
    )
    expect(setup.upstreams[vendor].received).toHaveLength(1)
  })
})
