/**
 * Prompt-caching breakpoints (`cache_control` on text parts): Claude gets them where the client put them, at the
 * five-minute default the catalog prices; OpenAI, which refuses keys it does not know, never sees them.
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { type CatalogModel, plainCapabilities } from "../../../src/domain/Catalog.ts"
import type { ChatCompletionRequest } from "../../../src/domain/Chat.ts"
import { toMessagesRequest } from "../../../src/providers/anthropic/translateRequest.ts"
import { toOpenAIRequest } from "../../../src/providers/openai/translateRequest.ts"
import { testModel } from "../../support/billingModels.ts"
import { success } from "../../support/result.ts"

const claude = {
  ...plainCapabilities,
  id: "claude-3",
  upstreamModel: "claude-3-haiku-20240307",
  maxOutputTokens: 4096
} as CatalogModel
const gpt: CatalogModel = { ...testModel("gpt-4.1", { input: "2", output: "8" }), provider: "openai" }

const breakpoint = { type: "ephemeral" as const }
const request: ChatCompletionRequest = {
  model: "m",
  messages: [
    {
      role: "system",
      content: [
        { type: "text", text: "You are a coding agent." },
        { type: "text", text: "Long instructions.", cache_control: { type: "ephemeral", ttl: "1h" } }
      ]
    },
    { role: "user", content: [{ type: "text", text: "Read the file.", cache_control: breakpoint }] },
    {
      role: "assistant",
      content: null,
      tool_calls: [{ id: "toolu_1", type: "function", function: { name: "read", arguments: "{}" } }]
    },
    { role: "tool", tool_call_id: "toolu_1", content: [{ type: "text", text: "contents", cache_control: breakpoint }] }
  ]
}

describe("cache_control", () => {
  it("reaches Claude on the blocks that carried it, the system prompt as blocks, a one-hour TTL as the default", () => {
    const body = Result.map(
      toMessagesRequest({ request, model: claude, maxTokens: 100, requestId: "r" }, false),
      (call) => call.body
    )
    expect(success(body)).toMatchObject({
      system: [
        { type: "text", text: "You are a coding agent." },
        { type: "text", text: "Long instructions.", cache_control: { type: "ephemeral" } }
      ],
      messages: [
        { role: "user", content: [{ type: "text", text: "Read the file.", cache_control: { type: "ephemeral" } }] },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "read", input: {} }] },
        {
          role: "user",
          content: [
            {
              type: "tool_result",
              tool_use_id: "toolu_1",
              content: [{ type: "text", text: "contents", cache_control: { type: "ephemeral" } }]
            }
          ]
        }
      ]
    })
  })

  it("keeps the system prompt a string when nothing in it is a breakpoint", () => {
    const plain: ChatCompletionRequest = {
      model: "m",
      messages: [{ role: "system", content: "Be brief." }, ...request.messages.slice(1)]
    }
    const body = Result.map(
      toMessagesRequest({ request: plain, model: claude, maxTokens: 100, requestId: "r" }, false),
      (call) => call.body
    )
    expect(success(body).system).toBe("Be brief.")
  })

  it("never reaches OpenAI", () => {
    const body = success(toOpenAIRequest({ request, model: gpt, maxTokens: 100, requestId: "r" }, false))
    expect(JSON.stringify(body)).not.toContain("cache_control")
    expect(body.messages[0]).toEqual({
      role: "system",
      content: [
        { type: "text", text: "You are a coding agent." },
        { type: "text", text: "Long instructions." }
      ]
    })
  })
})
