/**
 * Conformance: structured outputs through OpenAI with the official SDK's
 * `client.chat.completions.parse()` and a nested zod schema; the OpenAI fake checks the strict
 * schema as OpenAI does, and the answer comes back parsed. json_object passes too.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { person, personFormat, personJson, personPrompt } from "./structured.ts"
import { type Conformance, resetAll, startConformance } from "./support.ts"

let setup: Conformance
beforeAll(async () => {
  setup = await startConformance({ LOG_LEVEL: "none" })
})
afterAll(() => setup.close())
beforeEach(() => resetAll(setup.upstreams))

const fake = () => setup.upstreams.openai

describe("structured outputs through OpenAI", () => {
  it.each(["gpt-4.1", "gpt-5-mini"])(
    "%s: parse() with a nested zod schema returns the parsed object",
    async (model) => {
      fake().script({ kind: "reply", reply: { text: personJson } })
      const completion = await setup.client.chat.completions.parse({
        model,
        messages: [{ role: "user", content: personPrompt }],
        response_format: personFormat
      })
      expect(completion.choices[0]?.message.parsed).toEqual(person)
      expect(fake().received[0]?.body.response_format).toEqual(JSON.parse(JSON.stringify(personFormat)))
    }
  )

  it("json_object passes through", async () => {
    fake().script({ kind: "reply", reply: { text: '{"ok":true}' } })
    const completion = await setup.client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Answer in JSON." }],
      response_format: { type: "json_object" }
    })
    expect(JSON.parse(completion.choices[0]?.message.content ?? "")).toEqual({ ok: true })
    expect(fake().received[0]?.body.response_format).toEqual({ type: "json_object" })
  })
})
