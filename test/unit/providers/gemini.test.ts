/**
 * OpenAI ⇄ Gemini translation, pure: requests built from canonical requests, and
 * recorded Gemini answers (whole and streamed) turned into OpenAI shapes.
 */
import { Result, Schema } from "effect"
import { describe, expect, it } from "vitest"
import type { CatalogModel } from "../../../src/domain/Catalog.ts"
import type { ChatCompletionRequest, ChatMessage } from "../../../src/domain/Chat.ts"
import { geminiErrorReason } from "../../../src/providers/gemini/errors.ts"
import { toGenerateContentRequest } from "../../../src/providers/gemini/translateRequest.ts"
import {
  finishReason,
  type StreamEvent,
  streamOpened,
  streamTranslator,
  toChatCompletion
} from "../../../src/providers/gemini/translateResponse.ts"
import { GenerateContentResponse } from "../../../src/providers/gemini/wire.ts"
import { translateAll } from "../../../src/providers/StreamTranslator.ts"
import { jsonFixture, sseFixture } from "../../support/fixtures.ts"

const model = { id: "gemini-1.5-pro", upstreamModel: "gemini-1.5-pro", maxOutputTokens: 8192 } as CatalogModel

const translate = (request: Partial<ChatCompletionRequest> & { messages: ReadonlyArray<ChatMessage> }) =>
  toGenerateContentRequest({ request: { model: model.id, ...request }, model, maxTokens: 8192, requestId: "r" })

const success = <A, E>(result: Result.Result<A, E>): A => {
  if (Result.isFailure(result)) throw new Error(`expected success, got ${JSON.stringify(result.failure)}`)
  return result.success
}
const failure = <A, E>(result: Result.Result<A, E>): E => {
  if (Result.isSuccess(result)) throw new Error(`expected failure, got ${JSON.stringify(result.success)}`)
  return result.failure
}

const user = (content: ChatMessage["content"]): ChatMessage => ({ role: "user", content })
const decode = Schema.decodeUnknownSync(GenerateContentResponse)
const context = { id: "chatcmpl-g1", created: 1717000000, model: "gemini-1.5-pro" }

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

describe("Gemini answers → OpenAI shapes", () => {
  it("turns a recorded response into a completion", () => {
    const completion = success(toChatCompletion(decode(jsonFixture("gemini/response.json")), context))
    expect(completion).toEqual({
      id: "chatcmpl-g1",
      object: "chat.completion",
      created: 1717000000,
      model: "gemini-1.5-pro",
      choices: [{ index: 0, message: { role: "assistant", content: "Hello!" }, finish_reason: "stop", logprobs: null }],
      usage: {
        prompt_tokens: 9,
        completion_tokens: 3,
        total_tokens: 12,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 }
      }
    })
  })

  it("a function call becomes tool_calls with a minted id and finish_reason tool_calls; thinking counts as completion", () => {
    const completion = success(toChatCompletion(decode(jsonFixture("gemini/function-call.json")), context))
    expect(completion.choices[0]).toEqual({
      index: 0,
      message: {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_g1_0_0", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }
        ]
      },
      finish_reason: "tool_calls",
      logprobs: null
    })
    expect(completion.usage).toMatchObject({ prompt_tokens: 30, completion_tokens: 17, total_tokens: 47 })
    expect(completion.usage?.completion_tokens_details).toEqual({ reasoning_tokens: 12 })
  })

  it("a blocked prompt is an empty answer finished by content_filter", () => {
    const completion = success(toChatCompletion(decode(jsonFixture("gemini/blocked-prompt.json")), context))
    expect(completion.choices).toEqual([
      { index: 0, message: { role: "assistant", content: null }, finish_reason: "content_filter", logprobs: null }
    ])
    expect(completion.usage?.prompt_tokens).toBe(8)
  })

  it.each([
    ["STOP", false, "stop"],
    ["STOP", true, "tool_calls"],
    ["MAX_TOKENS", false, "length"],
    ["SAFETY", false, "content_filter"],
    ["RECITATION", false, "content_filter"],
    ["PROHIBITED_CONTENT", false, "content_filter"],
    ["MALFORMED_FUNCTION_CALL", false, "stop"],
    ["OTHER", false, "stop"],
    [undefined, false, null]
  ] as const)("maps finishReason %s (tools called: %s) to %s", (reason, called, expected) => {
    expect(finishReason(reason, called)).toBe(expected)
  })

  const recorded = (): Array<StreamEvent> => [
    streamOpened,
    ...sseFixture("gemini/stream.sse").map((event) => event.data)
  ]

  it("streams the role at once, text increments, the finish, and the last running usage total (never a sum)", () => {
    const chunks = success(translateAll(streamTranslator(context, 1), recorded()))
    expect(chunks.map((chunk) => chunk.choices[0]?.delta ?? chunk.usage)).toEqual([
      { role: "assistant", content: "" },
      { content: "Hel" },
      { content: "lo!" },
      {},
      {
        prompt_tokens: 9,
        completion_tokens: 3,
        total_tokens: 12,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 }
      }
    ])
    expect(chunks[3]?.choices[0]?.finish_reason).toBe("stop")
    expect(chunks.every((chunk) => chunk.id === "chatcmpl-g1" && chunk.model === "gemini-1.5-pro")).toBe(true)
  })

  it("streams a whole function call as one tool-call delta with id, type, name and arguments", () => {
    const event = JSON.stringify(jsonFixture("gemini/function-call.json"))
    const chunks = success(translateAll(streamTranslator(context, 1), [streamOpened, event]))
    expect(chunks[1]?.choices[0]?.delta).toEqual({
      tool_calls: [
        {
          index: 0,
          id: "call_g1_0_0",
          type: "function",
          function: { name: "get_weather", arguments: '{"city":"Paris"}' }
        }
      ]
    })
    expect(chunks[2]?.choices[0]?.finish_reason).toBe("tool_calls")
  })

  it("a stream that closes before every candidate finished is a Transport failure", () => {
    const cut = recorded().slice(0, 2)
    expect(failure(translateAll(streamTranslator(context, 1), cut))).toMatchObject({ _tag: "Transport" })
    const oneOfTwo = recorded()
    expect(failure(translateAll(streamTranslator(context, 2), oneOfTwo))).toMatchObject({ _tag: "Transport" })
  })

  it("an error event in the stream fails with what its code means", () => {
    const error = JSON.stringify({
      error: { code: 429, message: "Resource has been exhausted", status: "RESOURCE_EXHAUSTED" }
    })
    const reason = failure(translateAll(streamTranslator(context, 1), [streamOpened, error]))
    expect(reason).toMatchObject({ _tag: "RateLimited", message: "Resource has been exhausted" })
  })
})

describe("Gemini errors", () => {
  it("an invalid key (HTTP 400 API_KEY_INVALID) is our credentials, not the caller's request", () => {
    const body = {
      error: {
        code: 400,
        message: "API key not valid. Please pass a valid API key.",
        status: "INVALID_ARGUMENT",
        details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID" }]
      }
    }
    expect(geminiErrorReason(400, body, {}, 0)).toMatchObject({ _tag: "Auth", status: 400 })
    expect(geminiErrorReason(400, { error: { message: "bad field" } }, {}, 0)).toMatchObject({
      _tag: "BadRequest",
      message: "bad field"
    })
  })

  it("a 429 takes its wait from Retry-After, else from RetryInfo", () => {
    const body = {
      error: {
        code: 429,
        message: "Quota",
        details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "17s" }]
      }
    }
    expect(geminiErrorReason(429, body, {}, 0)).toMatchObject({ _tag: "RateLimited", retryAfterSeconds: 17 })
    expect(geminiErrorReason(429, body, { "retry-after": "3" }, 0)).toMatchObject({ retryAfterSeconds: 3 })
  })
})
