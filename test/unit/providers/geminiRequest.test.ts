/**
 * OpenAI request → Gemini generateContent request, pure: roles, turns, tools matched by
 * name, generation settings and schemas cut to Gemini's subset.
 */
import { describe, expect, it } from "vitest"
import { type CatalogModel, plainCapabilities } from "../../../src/domain/Catalog.ts"
import type { ChatCompletionRequest, ChatMessage } from "../../../src/domain/Chat.ts"
import { toGenerateContentRequest } from "../../../src/providers/gemini/translateRequest.ts"
import { failure, success } from "../../support/result.ts"

const model = {
  ...plainCapabilities,
  id: "gemini-1.5-pro",
  upstreamModel: "gemini-1.5-pro",
  maxOutputTokens: 8192
} as CatalogModel

const translate = (request: Partial<ChatCompletionRequest> & { messages: ReadonlyArray<ChatMessage> }) =>
  toGenerateContentRequest({ request: { model: model.id, ...request }, model, maxTokens: 8192, requestId: "r" })

const user = (content: ChatMessage["content"]): ChatMessage => ({ role: "user", content })

describe("OpenAI request → Gemini generateContent request", () => {
  it("puts system messages in systemInstruction, assistant turns as model, and merges same-role turns", () => {
    const body = success(
      translate({
        messages: [
          { role: "system", content: "Be terse." },
          { role: "developer", content: "Answer in French." },
          user("Hi"),
          user([{ type: "text", text: "there" }]),
          { role: "assistant", content: "Bonjour" },
          user("Ça va ?")
        ]
      })
    )
    expect(body).toEqual({
      systemInstruction: { parts: [{ text: "Be terse." }, { text: "Answer in French." }] },
      contents: [
        { role: "user", parts: [{ text: "Hi" }, { text: "there" }] },
        { role: "model", parts: [{ text: "Bonjour" }] },
        { role: "user", parts: [{ text: "Ça va ?" }] }
      ],
      generationConfig: { maxOutputTokens: 8192 }
    })
  })

  it("sends tool calls as functionCall objects and results as functionResponse matched by name", () => {
    const body = success(
      translate({
        messages: [
          { role: "assistant", content: "How can I help?" },
          user("Weather in Paris and Oslo?"),
          {
            role: "assistant",
            content: null,
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } },
              { id: "call_2", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } }
            ]
          },
          { role: "tool", tool_call_id: "call_1", content: "21C" },
          { role: "tool", tool_call_id: "call_2", content: "3C" }
        ]
      })
    )
    expect(body.contents).toEqual([
      { role: "user", parts: [{ text: "." }] },
      { role: "model", parts: [{ text: "How can I help?" }] },
      { role: "user", parts: [{ text: "Weather in Paris and Oslo?" }] },
      {
        role: "model",
        parts: [
          { functionCall: { name: "weather", args: { city: "Paris" } } },
          { functionCall: { name: "weather", args: { city: "Oslo" } } }
        ]
      },
      {
        role: "user",
        parts: [
          { functionResponse: { name: "weather", response: { content: "21C" } } },
          { functionResponse: { name: "weather", response: { content: "3C" } } }
        ]
      }
    ])
  })

  it("refuses a tool result whose call it cannot name", () => {
    const reason = failure(
      translate({ messages: [user("Hi"), { role: "tool", tool_call_id: "call_x", content: "1" }] })
    )
    expect(reason).toMatchObject({ _tag: "Unsupported", param: "messages[1].tool_call_id" })
  })

  it("sends images inline or by URL, and audio inline", () => {
    const body = success(
      translate({
        messages: [
          user([
            { type: "image_url", image_url: { url: "data:image/webp;base64,UklGRg==" } },
            { type: "image_url", image_url: { url: "https://example.com/a/cat.PNG?x=1" } },
            { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } }
          ])
        ]
      })
    )
    expect(body.contents[0]?.parts).toEqual([
      { inlineData: { mimeType: "image/webp", data: "UklGRg==" } },
      { fileData: { mimeType: "image/png", fileUri: "https://example.com/a/cat.PNG?x=1" } },
      { inlineData: { mimeType: "audio/wav", data: "UklGRg==" } }
    ])
  })

  it("maps sampling, stop, n, penalties, seed and JSON response formats into generationConfig", () => {
    const body = success(
      translate({
        messages: [user("Hi")],
        temperature: 1.5,
        top_p: 0.5,
        stop: "END",
        n: 3,
        presence_penalty: 0.5,
        frequency_penalty: -0.5,
        seed: 7,
        response_format: {
          type: "json_schema",
          json_schema: {
            name: "answer",
            strict: true,
            schema: {
              $schema: "http://json-schema.org/draft-07/schema#",
              type: "object",
              properties: {
                value: { type: ["string", "null"] },
                tags: { type: "array", items: { type: "string", default: "x" } }
              },
              required: ["value"],
              additionalProperties: false
            }
          }
        }
      })
    )
    expect(body.generationConfig).toEqual({
      maxOutputTokens: 8192,
      temperature: 1.5,
      topP: 0.5,
      stopSequences: ["END"],
      candidateCount: 3,
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
      seed: 7,
      responseMimeType: "application/json",
      responseSchema: {
        type: "object",
        properties: { value: { type: "string", nullable: true }, tags: { type: "array", items: { type: "string" } } },
        required: ["value"]
      }
    })
    const jsonObject = success(translate({ messages: [user("Hi")], response_format: { type: "json_object" } }))
    expect(jsonObject.generationConfig).toEqual({ maxOutputTokens: 8192, responseMimeType: "application/json" })
  })

  it("declares tools in Gemini's schema subset and maps tool_choice to function calling modes", () => {
    const tools = [
      {
        type: "function" as const,
        function: {
          name: "weather",
          description: "Weather",
          parameters: { type: "object", properties: { city: { type: "string" } }, additionalProperties: false },
          strict: true
        }
      },
      { type: "function" as const, function: { name: "now", parameters: { type: "object", properties: {} } } }
    ]
    const body = success(
      translate({ messages: [user("Hi")], tools, tool_choice: { type: "function", function: { name: "weather" } } })
    )
    expect(body.tools).toEqual([
      {
        functionDeclarations: [
          {
            name: "weather",
            description: "Weather",
            parameters: { type: "object", properties: { city: { type: "string" } } }
          },
          { name: "now" }
        ]
      }
    ])
    expect(body.toolConfig).toEqual({ functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["weather"] } })
    const mode = (choice: ChatCompletionRequest["tool_choice"]) =>
      success(translate({ messages: [user("Hi")], tools, tool_choice: choice })).toolConfig?.functionCallingConfig.mode
    expect([mode("auto"), mode("none"), mode("required"), mode(undefined)]).toEqual(["AUTO", "NONE", "ANY", undefined])
  })
})
