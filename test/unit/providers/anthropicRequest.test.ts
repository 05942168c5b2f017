/**
 * OpenAI request → Anthropic Messages request, pure: shapes, merges, and what is refused
 * before any upstream call.
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { type CatalogModel, plainCapabilities } from "../../../src/domain/Catalog.ts"
import type { ChatCompletionRequest, ChatMessage } from "../../../src/domain/Chat.ts"
import { toMessagesRequest } from "../../../src/providers/anthropic/translateRequest.ts"
import { jsonFixture } from "../../support/fixtures.ts"
import { failure, success } from "../../support/result.ts"

const model = {
  ...plainCapabilities,
  id: "claude-3",
  upstreamModel: "claude-3-haiku-20240307",
  maxOutputTokens: 4096,
  structuredOutputs: "tool"
} as CatalogModel

const translate = (
  request: Partial<ChatCompletionRequest> & { messages: ReadonlyArray<ChatMessage> },
  stream = false
) =>
  Result.map(
    toMessagesRequest({ request: { model: "claude-3", ...request }, model, maxTokens: 4096, requestId: "r" }, stream),
    (call) => call.body
  )

const user = (content: ChatMessage["content"]): ChatMessage => ({ role: "user", content })

describe("OpenAI request → Anthropic Messages request", () => {
  it("moves system and developer messages to the top-level system, and always sends max_tokens", () => {
    const body = success(
      translate({
        messages: [
          { role: "system", content: "Be terse." },
          user("Hi"),
          { role: "developer", content: [{ type: "text", text: "Answer in French." }] }
        ]
      })
    )
    expect(body).toEqual({
      model: "claude-3-haiku-20240307",
      max_tokens: 4096,
      system: "Be terse.\n\nAnswer in French.",
      messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }]
    })
  })

  it("merges consecutive same-role turns, tool results into the user turn, and opens with a user turn", () => {
    const body = success(
      translate({
        messages: [
          { role: "assistant", content: "Hello, how can I help?" },
          user("Weather?"),
          user("In Paris."),
          {
            role: "assistant",
            content: null,
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } },
              { id: "call_2", type: "function", function: { name: "time", arguments: "" } }
            ]
          },
          { role: "tool", tool_call_id: "call_1", content: "21C" },
          { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "noon" }] },
          user("Thanks")
        ]
      })
    )
    expect(body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "." }] },
      { role: "assistant", content: [{ type: "text", text: "Hello, how can I help?" }] },
      {
        role: "user",
        content: [
          { type: "text", text: "Weather?" },
          { type: "text", text: "In Paris." }
        ]
      },
      {
        role: "assistant",
        content: [
          { type: "tool_use", id: "call_1", name: "weather", input: { city: "Paris" } },
          { type: "tool_use", id: "call_2", name: "time", input: {} }
        ]
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "call_1", content: "21C" },
          { type: "tool_result", tool_use_id: "call_2", content: [{ type: "text", text: "noon" }] },
          { type: "text", text: "Thanks" }
        ]
      }
    ])
  })

  it("drops empty text, and follows a final assistant message with a user turn: OpenAI writes a new reply, never a prefill's continuation", () => {
    const body = success(
      translate({
        messages: [user("Hi"), { role: "assistant", content: "" }, user(""), { role: "assistant", content: "Sure, " }]
      })
    )
    expect(body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Hi" }] },
      { role: "assistant", content: [{ type: "text", text: "Sure, " }] },
      { role: "user", content: [{ type: "text", text: "." }] }
    ])
  })

  it("sends images as base64 or URL sources", () => {
    const body = success(
      translate({
        messages: [
          user([
            { type: "text", text: "What is this?" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
            { type: "image_url", image_url: { url: "https://example.com/cat.jpg", detail: "high" } }
          ])
        ]
      })
    )
    expect(body.messages[0]?.content).toEqual([
      { type: "text", text: "What is this?" },
      { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
      { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } }
    ])
  })

  it("maps tools, tool_choice, parallel_tool_calls, stop, top_p, temperature and user", () => {
    const tools = [
      {
        type: "function" as const,
        function: { name: "weather", description: "Weather", parameters: { type: "object", properties: {} } }
      }
    ]
    const body = success(
      translate({
        messages: [user("Hi")],
        tools: [...tools, { type: "function", function: { name: "noop" } }],
        tool_choice: { type: "function", function: { name: "weather" } },
        parallel_tool_calls: false,
        stop: "END",
        top_p: 0.9,
        temperature: 0.2,
        user: "user-42",
        presence_penalty: 0,
        seed: 7
      })
    )
    expect(body).toMatchObject({
      tools: [
        { name: "weather", description: "Weather", input_schema: { type: "object", properties: {} } },
        { name: "noop", input_schema: { type: "object", properties: {} } }
      ],
      tool_choice: { type: "tool", name: "weather", disable_parallel_tool_use: true },
      stop_sequences: ["END"],
      top_p: 0.9,
      temperature: 0.2,
      metadata: { user_id: "user-42" }
    })
    expect(body).not.toHaveProperty("presence_penalty")
    expect(body).not.toHaveProperty("seed")
    const choices = (choice: ChatCompletionRequest["tool_choice"]) =>
      success(translate({ messages: [user("Hi")], tools, tool_choice: choice })).tool_choice
    expect(choices("auto")).toEqual({ type: "auto" })
    expect(choices("required")).toEqual({ type: "any" })
    expect(choices("none")).toEqual({ type: "none" })
    expect(choices(undefined)).toBeUndefined()
    expect(success(translate({ messages: [user("Hi")], tool_choice: "required" }))).not.toHaveProperty("tool_choice")
    expect(success(translate({ messages: [user("Hi")] }, true)).stream).toBe(true)
  })

  it.each([
    [{ temperature: 1.2 }, "temperature"],
    [{ n: 2 }, "n"],
    [{ presence_penalty: 0.5 }, "presence_penalty"],
    [{ stop: ["\n"] }, "stop"]
  ])("refuses %j before any call, naming %s", (extra, param) => {
    const reason = failure(translate({ messages: [user("Hi")], ...extra }))
    expect(reason).toMatchObject({ _tag: "Unsupported", param })
  })

  it("refuses tool arguments that are not a JSON object, and content Anthropic cannot take", () => {
    const badArguments = translate({
      messages: [
        user("Hi"),
        { role: "assistant", tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "[1,2]" } }] }
      ]
    })
    expect(failure(badArguments)).toMatchObject({ param: "messages[1].tool_calls[0].function.arguments" })
    const audio = translate({
      messages: [user([{ type: "input_audio", input_audio: { data: "AAA", format: "wav" } }])]
    })
    expect(failure(audio)).toMatchObject({ param: "messages[0].content[0]" })
    const ftp = translate({ messages: [user([{ type: "image_url", image_url: { url: "ftp://x/y.png" } }])] })
    expect(failure(ftp)).toMatchObject({ param: "messages[0].content[0].image_url.url" })
  })
})

describe("files → Anthropic documents", () => {
  it("sends a recorded PDF file part as a base64 document block, its filename as the title", () => {
    const request = jsonFixture("anthropic/openai-request-pdf.json") as ChatCompletionRequest
    const body = success(translate(request))
    const data =
      "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKdHJhaWxlcgo8PC9Sb290IDEgMCBSPj4KJSVFT0YK"
    expect(body.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "document", source: { type: "base64", media_type: "application/pdf", data }, title: "invoice.pdf" },
          { type: "text", text: "What is the total of this invoice?" }
        ]
      }
    ])
  })

  it("refuses file ids and files that are not PDFs, naming the part", () => {
    const part = (file: { file_id?: string; file_data?: string }) =>
      failure(translate({ messages: [user([{ type: "file", file }])] }))
    expect(part({ file_id: "file-abc" })).toMatchObject({ param: "messages[0].content[0]" })
    expect(part({ file_data: "data:text/csv;base64,YSxi" })).toMatchObject({ param: "messages[0].content[0]" })
  })
})
