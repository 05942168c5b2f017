/**
 * OpenAI Chat Completions request → Gemini generateContent request. Pure. Gemini has
 * two roles (`user`, `model`), the system prompt apart, tool results matched to calls by
 * function name (looked up through `tool_call_id`), and argument objects, not strings.
 * Thought signatures and Gemini's own call ids come back inside the tool-call ids
 * (`toolCallIds.ts`).
 */
import * as Result from "effect/Result"
import type { CatalogModel } from "../../domain/Catalog.ts"
import type { ChatCompletionRequest, ChatMessage, ContentPart, FunctionTool, ToolChoice } from "../../domain/Chat.ts"
import type { ProviderRequest } from "../Provider.ts"
import { refusalCheck } from "../fieldPolicy.ts"
import {
  applyParameterRules,
  contentParts,
  imageTypeOfUrl,
  isHttpsUrl,
  mergeConsecutive,
  parseArguments,
  parseDataUrl,
  placeholderUserText,
  stopSequences,
  systemApart,
  textOf,
  type Translated,
  unsupported
} from "../translateCommon.ts"
import { fieldPolicy } from "./fieldPolicy.ts"
import { geminiJsonSchema, isRecord } from "./jsonSchema.ts"
import { geminiSchema } from "./schemaSubset.ts"
import { thinkingConfig } from "./thinking.ts"
import { decodeToolCallId } from "./toolCallIds.ts"
import type {
  FunctionDeclaration,
  GenerateContentRequest,
  GenerationConfig,
  RequestContent,
  RequestPart
} from "./wire.ts"

/** The refusals of the field policy that depend on a field's value alone, checked before translating. */
const refusedFields = refusalCheck(fieldPolicy)

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
      return filePart(content.file, `${param}.file`)
  }
}

/**
 * A document (a PDF, https://ai.google.dev/gemini-api/docs/document-processing) goes inline with its
 * media type: from a data: URL, or bare base64 named `*.pdf`. OpenAI file ids mean nothing to Gemini.
 */
const filePart = (file: Extract<ContentPart, { type: "file" }>["file"], param: string): Translated<RequestPart> => {
  const data = file.file_data
  if (data === undefined) {
    return unsupported(
      `${param}.file_id`,
      `${param}: OpenAI file ids are not supported for Gemini models; send file_data`
    )
  }
  const url = parseDataUrl(data)
  if (url !== undefined) return Result.succeed({ inlineData: { mimeType: url.mediaType, data: url.data } })
  if (file.filename?.toLowerCase().endsWith(".pdf") === true) {
    return Result.succeed({ inlineData: { mimeType: "application/pdf", data } })
  }
  return unsupported(
    `${param}.file_data`,
    `${param}.file_data must be a data: URL (e.g. data:application/pdf;base64,…)`
  )
}

const parts = (message: ChatMessage, param: string): Translated<Array<RequestPart>> =>
  contentParts<RequestPart>(message.content, param, (text) => ({ text }), part)

/** Gemini rejects empty text parts. */
const nonEmpty = (item: RequestPart): boolean => !("text" in item) || item.text !== ""

/** The tool calls of the assistant turns so far, by id: Gemini matches a result to its call by function name. */
type ToolNames = Map<string, { readonly name: string; readonly geminiId: string | undefined }>

/** A message other than system and developer as a Gemini content; an assistant's tool calls go into `toolNames`. */
const contentOf =
  (toolNames: ToolNames) =>
  (message: ChatMessage, param: string): Translated<RequestContent> =>
    Result.gen(function* () {
      switch (message.role) {
        case "assistant": {
          const items = yield* parts(message, param)
          for (const [callIndex, call] of (message.tool_calls ?? []).entries()) {
            const args = yield* parseArguments(
              call.function.arguments,
              `${param}.tool_calls[${callIndex}].function.arguments`
            )
            const { signature, geminiId } = decodeToolCallId(call.id)
            toolNames.set(call.id, { name: call.function.name, geminiId })
            items.push({
              functionCall: { ...(geminiId !== undefined && { id: geminiId }), name: call.function.name, args },
              ...(signature !== undefined && { thoughtSignature: signature })
            })
          }
          return { role: "model", parts: items }
        }
        case "tool": {
          const call = toolNames.get(message.tool_call_id ?? "")
          if (call === undefined) {
            return yield* unsupported(
              `${param}.tool_call_id`,
              `${param}.tool_call_id: no earlier assistant tool call has this id, and Gemini matches results by function name`
            )
          }
          return {
            role: "user",
            parts: [
              {
                functionResponse: {
                  ...(call.geminiId !== undefined && { id: call.geminiId }),
                  name: call.name,
                  response: { content: textOf(message.content) }
                }
              }
            ]
          }
        }
        default:
          return { role: "user", parts: yield* parts(message, param) }
      }
    })

const contents = (
  messages: ReadonlyArray<ChatMessage>
): Translated<{ system: Array<string>; contents: Array<RequestContent> }> =>
  Result.gen(function* () {
    const { system, turns } = yield* systemApart(messages, parts, contentOf(new Map()))
    const kept = turns
      .map((turn) => ({ role: turn.role, parts: turn.parts.filter(nonEmpty) }))
      .filter((turn) => turn.parts.length > 0)
    const merged = mergeConsecutive(kept, (first, second) => ({
      role: first.role,
      parts: [...first.parts, ...second.parts]
    }))
    const placeholder = (): { role: "user"; parts: Array<RequestPart> } => ({
      role: "user",
      parts: [{ text: placeholderUserText }]
    })
    if (merged[0]?.role !== "user") merged.unshift(placeholder())
    // OpenAI answers a conversation that ends with the assistant with a new message; Gemini would
    // take that turn as one to continue, so a user turn closes it.
    if (merged.at(-1)?.role === "model") merged.push(placeholder())
    return { system, contents: merged }
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

/**
 * Models that take JSON Schema (`responseJsonSchema`, `parametersJsonSchema`) are, in the catalog,
 * those that think (Gemini 2.5 and later); older ones (1.5, 2.0) take the OpenAPI subset.
 */
const takesJsonSchema = (model: CatalogModel) => model.thinking !== undefined

const responseSchema = (request: ChatCompletionRequest, model: CatalogModel): Partial<GenerationConfig> => {
  const format = request.response_format
  if (format?.type !== "json_object" && format?.type !== "json_schema") return {}
  const schema = format.type === "json_schema" ? format.json_schema.schema : undefined
  if (schema === undefined) return { responseMimeType: "application/json" }
  if (takesJsonSchema(model))
    return { responseMimeType: "application/json", responseJsonSchema: geminiJsonSchema(schema) }
  const subset = geminiSchema(schema)
  return { responseMimeType: "application/json", ...(subset !== undefined && { responseSchema: subset }) }
}

const generationConfig = (
  request: ChatCompletionRequest,
  model: CatalogModel,
  maxTokens: number
): Translated<GenerationConfig> =>
  Result.map(thinkingConfig(request, model), (thinking) => {
    const stop = stopSequences(request)
    const optional = {
      temperature: number(request.temperature),
      topP: number(request.top_p),
      stopSequences: stop.length > 0 ? stop : undefined,
      candidateCount: number(request.n),
      presencePenalty: number(request.presence_penalty),
      frequencyPenalty: number(request.frequency_penalty),
      seed: number(request.seed),
      ...responseSchema(request, model),
      thinkingConfig: thinking
    }
    const present = Object.entries(optional).filter(([, value]) => value !== undefined)
    return { maxOutputTokens: maxTokens, ...Object.fromEntries(present) }
  })

const declaration = (tool: FunctionTool, model: CatalogModel): FunctionDeclaration => {
  const { name, description, parameters } = tool.function
  const base = { name, ...(description !== undefined && { description }) }
  if (parameters === undefined) return base
  if (!takesJsonSchema(model)) {
    const subset = geminiSchema(parameters)
    return subset === undefined ? base : { ...base, parameters: subset }
  }
  // A function without parameters leaves them unset, as Gemini's reference suggests.
  const properties = parameters["properties"]
  const none = parameters["type"] === "object" && (!isRecord(properties) || Object.keys(properties).length === 0)
  return none ? base : { ...base, parametersJsonSchema: geminiJsonSchema(parameters) }
}

export const toGenerateContentRequest = (input: ProviderRequest): Translated<GenerateContentRequest> =>
  Result.gen(function* () {
    yield* refusedFields(input.request)
    const request = yield* applyParameterRules(input.request, input.model)
    const translated = yield* contents(request.messages)
    const tools = request.tools ?? []
    const config = tools.length > 0 ? toolConfig(request.tool_choice) : undefined
    return {
      contents: translated.contents,
      ...(translated.system.length > 0 && {
        systemInstruction: { parts: translated.system.map((text) => ({ text })) }
      }),
      generationConfig: yield* generationConfig(request, input.model, input.maxTokens),
      ...(tools.length > 0 && {
        tools: [{ functionDeclarations: tools.map((tool) => declaration(tool, input.model)) }]
      }),
      ...(config !== undefined && { toolConfig: config })
    }
  })
