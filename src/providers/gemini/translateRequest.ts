/**
 * OpenAI Chat Completions request → Gemini generateContent request. Pure. Gemini has
 * two roles (`user`, `model`), the system prompt apart, tool results matched to calls by
 * function name (looked up through `tool_call_id`), and argument objects, not strings.
 */
import { Result } from "effect"
import type { ChatCompletionRequest, ChatMessage, ContentPart, ToolChoice } from "../../domain/Chat.ts"
import type { UnsupportedReason } from "../../domain/ProviderError.ts"
import type { ProviderRequest } from "../Provider.ts"
import {
  imageTypeOfUrl,
  isHttpsUrl,
  mergeConsecutive,
  parseArguments,
  parseDataUrl,
  placeholderUserText,
  stopSequences,
  textOf,
  unsupported
} from "../translateCommon.ts"
import { geminiSchema } from "./schemaSubset.ts"
import type { GenerateContentRequest, GenerationConfig, RequestContent, RequestPart } from "./wire.ts"

type Translated<A> = Result.Result<A, UnsupportedReason>

const part = (content: ContentPart, param: string): Translated<RequestPart> => {
  switch (content.type) {
    case "text":
      return Result.succeed({ text: content.text })
    case "image_url": {
      const url = content.image_url.url
      const data = parseDataUrl(url)
      if (data !== undefined) return Result.succeed({ inlineData: { mimeType: data.mediaType, data: data.data } })
      if (isHttpsUrl(url)) return Result.succeed({ fileData: { mimeType: imageTypeOfUrl(url), fileUri: url } })
      return unsupported(`${param}.image_url.url`, `${param}.image_url.url must be a data: URL or an https: URL`)
    }
    case "input_audio":
      return Result.succeed({
        inlineData: { mimeType: `audio/${content.input_audio.format}`, data: content.input_audio.data }
      })
    case "file":
      return unsupported(param, `${param}: file content is not supported for Gemini models`)
  }
}

const parts = (message: ChatMessage, param: string): Translated<Array<RequestPart>> =>
  Result.gen(function* () {
    const content = message.content
    if (content === null || content === undefined) return []
    if (typeof content === "string") return [{ text: content }]
    const out: Array<RequestPart> = []
    for (const [index, item] of content.entries()) out.push(yield* part(item, `${param}.content[${index}]`))
    return out
  })

/** Gemini rejects empty text parts. */
const nonEmpty = (item: RequestPart): boolean => !("text" in item) || item.text !== ""

const contents = (
  messages: ReadonlyArray<ChatMessage>
): Translated<{ system: Array<string>; contents: Array<RequestContent> }> =>
  Result.gen(function* () {
    const system: Array<string> = []
    const out: Array<RequestContent> = []
    const toolNames = new Map<string, string>()
    for (const [index, message] of messages.entries()) {
      const param = `messages[${index}]`
      switch (message.role) {
        case "system":
        case "developer": {
          const items = yield* parts(message, param)
          if (items.some((item) => !("text" in item))) {
            return yield* unsupported(`${param}.content`, `${param}.content: a system message may only hold text`)
          }
          system.push(textOf(message.content))
          break
        }
        case "user":
          out.push({ role: "user", parts: yield* parts(message, param) })
          break
        case "assistant": {
          const items = yield* parts(message, param)
          for (const [callIndex, call] of (message.tool_calls ?? []).entries()) {
            const args = yield* parseArguments(
              call.function.arguments,
              `${param}.tool_calls[${callIndex}].function.arguments`
            )
            toolNames.set(call.id, call.function.name)
            items.push({ functionCall: { name: call.function.name, args } })
          }
          out.push({ role: "model", parts: items })
          break
        }
        case "tool": {
          const name = toolNames.get(message.tool_call_id ?? "")
          if (name === undefined) {
            return yield* unsupported(
              `${param}.tool_call_id`,
              `${param}.tool_call_id: no earlier assistant tool call has this id, and Gemini matches results by function name`
            )
          }
          out.push({
            role: "user",
            parts: [{ functionResponse: { name, response: { content: textOf(message.content) } } }]
          })
          break
        }
      }
    }
    const kept = out
      .map((turn) => ({ role: turn.role, parts: turn.parts.filter(nonEmpty) }))
      .filter((turn) => turn.parts.length > 0)
    const merged = mergeConsecutive(kept, (first, second) => ({
      role: first.role,
      parts: [...first.parts, ...second.parts]
    }))
    if (merged[0]?.role !== "user") merged.unshift({ role: "user", parts: [{ text: placeholderUserText }] })
    return { system: system.filter((text) => text !== ""), contents: merged }
  })

const toolConfig = (choice: ToolChoice | null | undefined): GenerateContentRequest["toolConfig"] => {
  if (choice === "none") return { functionCallingConfig: { mode: "NONE" } }
  if (choice === "required") return { functionCallingConfig: { mode: "ANY" } }
  if (typeof choice === "object" && choice !== null) {
    return { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [choice.function.name] } }
  }
  return choice === "auto" ? { functionCallingConfig: { mode: "AUTO" } } : undefined
}

const number = (value: number | null | undefined) => (typeof value === "number" ? value : undefined)

const generationConfig = (request: ChatCompletionRequest, maxTokens: number): GenerationConfig => {
  const format = request.response_format
  const stop = stopSequences(request)
  const optional = {
    temperature: number(request.temperature),
    topP: number(request.top_p),
    stopSequences: stop.length > 0 ? stop : undefined,
    candidateCount: number(request.n),
    presencePenalty: number(request.presence_penalty),
    frequencyPenalty: number(request.frequency_penalty),
    seed: number(request.seed),
    responseMimeType: format?.type === "json_object" || format?.type === "json_schema" ? "application/json" : undefined,
    responseSchema:
      format?.type === "json_schema" && format.json_schema.schema !== undefined
        ? geminiSchema(format.json_schema.schema)
        : undefined
  }
  const present = Object.entries(optional).filter(([, value]) => value !== undefined)
  return { maxOutputTokens: maxTokens, ...Object.fromEntries(present) }
}

export const toGenerateContentRequest = (input: ProviderRequest): Translated<GenerateContentRequest> =>
  Result.gen(function* () {
    const { request } = input
    const translated = yield* contents(request.messages)
    const tools = request.tools ?? []
    const config = tools.length > 0 ? toolConfig(request.tool_choice) : undefined
    return {
      contents: translated.contents,
      ...(translated.system.length > 0 && {
        systemInstruction: { parts: translated.system.map((text) => ({ text })) }
      }),
      generationConfig: generationConfig(request, input.maxTokens),
      ...(tools.length > 0 && {
        tools: [
          {
            functionDeclarations: tools.map((tool) => {
              const parameters =
                tool.function.parameters === undefined ? undefined : geminiSchema(tool.function.parameters)
              return {
                name: tool.function.name,
                ...(tool.function.description !== undefined && { description: tool.function.description }),
                ...(parameters !== undefined && { parameters })
              }
            })
          }
        ]
      }),
      ...(config !== undefined && { toolConfig: config })
    }
  })
