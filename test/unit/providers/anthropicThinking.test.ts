/**
 * reasoning_effort → Claude's thinking, from the catalog's capabilities: budgets below max_tokens on
 * Claude 4.5, adaptive thinking with effort on 4.6 and later, the catalog's default yielding to what
 * excludes thinking, echoed thinking blocks in tool loops, and the sampling rules of current models.
 */
import { describe, expect, it } from "vitest"
import type { ChatMessage } from "../../../src/domain/Chat.ts"
import { failure, success } from "../../support/result.ts"
import { bodyFor, user } from "./anthropicModels.ts"

const hi = [user("Hi")]

describe("reasoning_effort → Claude thinking", () => {
  it("gives Claude 4.5 a thinking budget per effort, kept below max_tokens, and no thinking without an effort", () => {
    expect(success(bodyFor("claude-sonnet-4-5", { messages: hi, reasoning_effort: "medium" }))).toMatchObject({
      model: "claude-sonnet-4-5-20250929",
      max_tokens: 16000,
      thinking: { type: "enabled", budget_tokens: 8192 }
    })
    const tight = success(bodyFor("claude-haiku-4-5", { messages: hi, reasoning_effort: "high" }, 5000))
    expect(tight.thinking).toEqual({ type: "enabled", budget_tokens: 4999 })
    expect(success(bodyFor("claude-haiku-4-5", { messages: hi }))).not.toHaveProperty("thinking")
    expect(success(bodyFor("claude-haiku-4-5", { messages: hi, reasoning_effort: "none" })).thinking).toEqual({
      type: "disabled"
    })
  })

  it("refuses an effort whose budget cannot fit under max_tokens, and an effort on a model that does not think", () => {
    expect(failure(bodyFor("claude-haiku-4-5", { messages: hi, reasoning_effort: "low" }, 1000))).toMatchObject({
      _tag: "Unsupported",
      param: "reasoning_effort"
    })
    expect(failure(bodyFor("claude-3", { messages: hi, reasoning_effort: "low" }, 1000))).toMatchObject({
      param: "reasoning_effort"
    })
    expect(success(bodyFor("claude-3", { messages: hi, reasoning_effort: "none" }, 1000))).not.toHaveProperty(
      "thinking"
    )
  })

  it("gives Claude 4.6 adaptive thinking with output_config.effort, OpenAI's xhigh as max", () => {
    expect(success(bodyFor("claude-opus-4-6", { messages: hi, reasoning_effort: "low" }))).toMatchObject({
      thinking: { type: "adaptive" },
      output_config: { effort: "low" }
    })
    const top = success(bodyFor("claude-sonnet-4-6", { messages: hi, reasoning_effort: "xhigh" }))
    expect(top.output_config).toEqual({ effort: "max" })
    expect(success(bodyFor("claude-opus-4-6", { messages: hi, reasoning_effort: "none" }))).toEqual(
      expect.objectContaining({ thinking: { type: "disabled" } })
    )
  })

  it("thinks by default on Claude Opus 5, and the default yields to a forced tool or a JSON object answer", () => {
    expect(success(bodyFor("claude-opus-5", { messages: hi }))).toMatchObject({
      thinking: { type: "adaptive" },
      output_config: { effort: "high" }
    })
    const tools = [{ type: "function" as const, function: { name: "f", parameters: { type: "object" } } }]
    const forced = success(bodyFor("claude-opus-5", { messages: hi, tools, tool_choice: "required" }))
    expect(forced).toMatchObject({ thinking: { type: "disabled" }, tool_choice: { type: "any" } })
    expect(forced).not.toHaveProperty("output_config")
    const json = success(bodyFor("claude-opus-5", { messages: hi, response_format: { type: "json_object" } }))
    expect(json.thinking).toEqual({ type: "disabled" })
  })

  it("refuses what excludes thinking the client asked for, naming the field", () => {
    const tools = [{ type: "function" as const, function: { name: "f" } }]
    const asked = { messages: hi, reasoning_effort: "low" as const }
    const cases = [
      [{ tools, tool_choice: "required" as const }, "tool_choice"],
      [{ temperature: 0.2 }, "temperature"],
      [{ top_p: 0.5 }, "top_p"],
      [{ response_format: { type: "json_object" as const } }, "response_format"]
    ] as const
    for (const [extra, param] of cases) {
      expect(failure(bodyFor("claude-sonnet-4-5", { ...asked, ...extra }))).toMatchObject({ param })
    }
    expect(success(bodyFor("claude-sonnet-4-5", { ...asked, temperature: 1 }))).not.toHaveProperty("temperature")
    expect(success(bodyFor("claude-sonnet-4-5", { ...asked, top_p: 0.97 })).top_p).toBe(0.97)
  })

  const toolCall = {
    id: "toolu_1",
    type: "function" as const,
    function: { name: "get_weather", arguments: '{"city":"Paris"}' }
  }
  const signed = { type: "thinking" as const, thinking: "Call the tool.", signature: "sig-1" }
  const loop = (assistant: Partial<ChatMessage>): ReadonlyArray<ChatMessage> => [
    user("Weather in Paris?"),
    { role: "assistant", content: null, tool_calls: [toolCall], ...assistant },
    { role: "tool", tool_call_id: "toolu_1", content: "21C" }
  ]

  it("sends echoed thinking blocks back first in their assistant turn, signatures unchanged", () => {
    const messages = loop({
      reasoning_content: "Call the tool.",
      thinking_blocks: [signed, { type: "redacted_thinking", data: "EmwKAhgB" }]
    })
    const body = success(bodyFor("claude-sonnet-4-5", { messages, reasoning_effort: "low" }))
    expect(body.thinking).toEqual({ type: "enabled", budget_tokens: 2048 })
    expect(body.messages[1]).toEqual({
      role: "assistant",
      content: [
        { type: "thinking", thinking: "Call the tool.", signature: "sig-1" },
        { type: "redacted_thinking", data: "EmwKAhgB" },
        { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } }
      ]
    })
  })

  it("turns thinking off for a tool loop whose thinking blocks were not echoed, and leaves echoed blocks out without thinking", () => {
    const bare = success(bodyFor("claude-sonnet-4-5", { messages: loop({}), reasoning_effort: "low" }))
    expect(bare.thinking).toEqual({ type: "disabled" })
    expect(bare.messages[1]?.content).toEqual([
      { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } }
    ])
    const echoed = success(bodyFor("claude-sonnet-4-5", { messages: loop({ thinking_blocks: [signed] }) }))
    expect(echoed).not.toHaveProperty("thinking")
    expect(echoed.messages[1]?.content.map((block) => block.type)).toEqual(["tool_use"])
    expect(
      failure(bodyFor("claude-sonnet-4-5", { messages: loop({ thinking_blocks: [{ type: "thinking" }] }) }))
    ).toMatchObject({
      param: "messages[1].thinking_blocks[0]"
    })
  })
})

describe("sampling on current Claude models, from the catalog", () => {
  it("keeps temperature and leaves top_p out on Claude 4.5+, which refuse the two together; claude-3 takes both", () => {
    const both = { messages: hi, temperature: 0.4, top_p: 0.9 }
    const body = success(bodyFor("claude-sonnet-4-5", both))
    expect(body.temperature).toBe(0.4)
    expect(body).not.toHaveProperty("top_p")
    expect(success(bodyFor("claude-3", both, 4096))).toMatchObject({ temperature: 0.4, top_p: 0.9 })
  })

  it("refuses sampling on Claude Opus 5 except at the defaults, which are left out", () => {
    expect(failure(bodyFor("claude-opus-5", { messages: hi, temperature: 0.4 }))).toMatchObject({
      param: "temperature"
    })
    const neutral = success(bodyFor("claude-opus-5", { messages: hi, temperature: 1, top_p: 1 }))
    expect(neutral).not.toHaveProperty("temperature")
    expect(neutral).not.toHaveProperty("top_p")
  })
})
