/**
 * Conformance: a client that goes away cancels the upstream request — the fake upstream
 * sees its connection close while it still had more to send — and an upstream that does
 * not answer in time is a 504 whose request is aborted too.
 */
import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type Conformance, models, resetAll, startConformance } from "./support.ts"

let setup: Conformance
beforeAll(async () => {
  // Short bounds for the timeout cases; the cancellation cases finish long before them. One upstream
  // call per request: a timed-out attempt would otherwise be retried (see retries.test.ts).
  setup = await startConformance({
    RETRY_ENABLED: "false",
    CIRCUIT_BREAKER_ENABLED: "false",
    OPENAI_FIRST_BYTE_TIMEOUT_SECONDS: "0.5",
    ANTHROPIC_FIRST_BYTE_TIMEOUT_SECONDS: "0.5",
    GEMINI_FIRST_BYTE_TIMEOUT_SECONDS: "0.5",
    OPENAI_TOTAL_TIMEOUT_SECONDS: "0.5",
    ANTHROPIC_TOTAL_TIMEOUT_SECONDS: "0.5",
    GEMINI_TOTAL_TIMEOUT_SECONDS: "0.5"
  })
})
afterAll(() => setup.close())
beforeEach(() => resetAll(setup.upstreams))

/** Events of each vendor's stream up to and including the first text. */
const eventsToFirstText = { openai: 2, anthropic: 4, gemini: 1 } as const

describe.each(models)("$model cancellation", ({ model, vendor }) => {
  const fake = () => setup.upstreams[vendor]

  it("a client leaving mid-stream closes the upstream connection", async () => {
    fake().script({ kind: "stallAfter", events: eventsToFirstText[vendor] })
    const stream = await setup.client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Tell a long story" }],
      stream: true
    })
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) break // leaving the loop aborts the SDK's request
    }
    await fake().waitForEarlyClose()
    expect(fake().closedEarly()).toBe(1)
  })

  it("a client leaving before a plain answer closes the upstream connection", async () => {
    fake().script({ kind: "stall" })
    const controller = new AbortController()
    const pending = setup.client.chat.completions.create(
      { model, messages: [{ role: "user", content: "Think hard" }] },
      { signal: controller.signal }
    )
    await fake().waitForRequests(1)
    controller.abort()
    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError)
    await fake().waitForEarlyClose()
    expect(fake().closedEarly()).toBe(1)
  })

  it("an upstream that never starts its stream is a 504, and its request is aborted", async () => {
    fake().script({ kind: "stall" })
    const error = await setup.client.chat.completions
      .create({ model, messages: [{ role: "user", content: "Hi" }], stream: true })
      .then(
        () => undefined,
        (e: unknown) => e as InstanceType<typeof OpenAI.APIError>
      )
    expect(error?.status).toBe(504)
    expect(error?.type).toBe("timeout_error")
    await fake().waitForEarlyClose()
  })
})
