/**
 * Pieces of request and response translation that every vendor shares: the canonical
 * chunk builder, data URLs, tool-call arguments, stop sequences. Pure functions.
 */
import { Result } from "effect"
import type { CatalogModel } from "../domain/Catalog.ts"
import type { ChatCompletionChunk, ChatCompletionRequest, ChunkChoice, Content, Usage } from "../domain/Chat.ts"
import { UnsupportedReason } from "../domain/ProviderError.ts"

/** What a response needs that the upstream does not say: who answers, as which model, since when. */
export interface ResponseContext {
  /** The completion id the client sees. */
  readonly id: string
  /** Unix seconds. */
  readonly created: number
  /** The public model id the client asked for. */
  readonly model: string
}

export const chunkOf = (
  context: ResponseContext,
  choices: ReadonlyArray<ChunkChoice>,
  usage?: Usage
): ChatCompletionChunk =>
  usage === undefined
    ? { id: context.id, object: "chat.completion.chunk", created: context.created, model: context.model, choices }
    : {
        id: context.id,
        object: "chat.completion.chunk",
        created: context.created,
        model: context.model,
        choices,
        usage
      }

/** The first chunk of every stream: the role of each choice. */
export const roleChunk = (context: ResponseContext, choiceCount: number): ChatCompletionChunk =>
  chunkOf(
    context,
    Array.from({ length: choiceCount }, (_, index) => ({
      index,
      delta: { role: "assistant", content: "" },
      finish_reason: null
    }))
  )

export const unsupported = (param: string, message: string) => Result.fail(new UnsupportedReason({ message, param }))

/** The text of a message's content, ignoring non-text parts. */
export const textOf = (content: Content | null | undefined): string => {
  if (content === null || content === undefined) return ""
  if (typeof content === "string") return content
  return content.map((part) => (part.type === "text" ? part.text : "")).join("")
}

export const stopSequences = (request: ChatCompletionRequest): ReadonlyArray<string> => {
  const stop = request.stop
  if (stop === undefined || stop === null) return []
  return typeof stop === "string" ? [stop] : stop
}

export interface DataUrl {
  readonly mediaType: string
  readonly data: string
}

/** `data:image/png;base64,AAAA` → its media type and base64 payload; undefined for anything else. */
export const parseDataUrl = (url: string): DataUrl | undefined => {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url)
  return match === null ? undefined : { mediaType: match[1]!, data: match[2]! }
}

const imageTypes: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  heic: "image/heic",
  heif: "image/heif"
}

/** The media type an image URL's extension suggests; JPEG when it says nothing. */
export const imageTypeOfUrl = (url: string): string => {
  const extension = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(new URL(url).pathname)?.[1]?.toLowerCase()
  return (extension !== undefined ? imageTypes[extension] : undefined) ?? "image/jpeg"
}

export const isHttpsUrl = (url: string): boolean => {
  try {
    return new URL(url).protocol === "https:"
  } catch {
    return false
  }
}

/**
 * OpenAI tool-call arguments are a JSON string; Anthropic and Gemini want an object.
 * An empty string is an empty object; anything but a JSON object is refused.
 */
export const parseArguments = (
  text: string,
  param: string
): Result.Result<Record<string, unknown>, UnsupportedReason> => {
  if (text.trim() === "") return Result.succeed({})
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      return Result.succeed(value as Record<string, unknown>)
    }
  } catch {
    // reported below
  }
  return unsupported(param, `${param} must be a JSON object, as the upstream takes tool arguments as an object`)
}

/** Consecutive entries with the same key merged into one (the target wants alternating turns). */
export const mergeConsecutive = <T extends { readonly role: string }>(
  turns: ReadonlyArray<T>,
  merge: (first: T, second: T) => T
): Array<T> => {
  const merged: Array<T> = []
  for (const turn of turns) {
    const last = merged.at(-1)
    if (last !== undefined && last.role === turn.role) merged[merged.length - 1] = merge(last, turn)
    else merged.push(turn)
  }
  return merged
}

/**
 * A placeholder user turn, for targets whose conversations must open with the user: an
 * OpenAI conversation may open with the assistant, or hold only system messages.
 */
export const placeholderUserText = "."

/** Set in the request: present and not null. */
export const isSet = <A>(value: A | null | undefined): value is A => value !== undefined && value !== null

/** What a request field is when it changes nothing (OpenAI's defaults): a model that refuses the field is not sent it. */
const neutralValues: Readonly<Record<string, unknown>> = {
  temperature: 1,
  top_p: 1,
  frequency_penalty: 0,
  presence_penalty: 0,
  n: 1,
  logprobs: false,
  top_logprobs: 0,
  parallel_tool_calls: true
}

const isNeutral = (field: string, value: unknown): boolean =>
  typeof value === "object" && value !== null ? Object.keys(value).length === 0 : neutralValues[field] === value

/**
 * The catalog's parameter rules for one request (`unsupported_parameters`, `exclusive_parameters`): a field
 * the model refuses is left out at its neutral value and refused (400 naming it) at any other; of a group the
 * model refuses together, the first field set is kept and the others left out. Returns the fields to leave out.
 */
export const catalogParameterRules = (
  request: ChatCompletionRequest,
  model: Pick<CatalogModel, "id" | "unsupportedParameters" | "exclusiveParameters">
): Result.Result<ReadonlySet<string>, UnsupportedReason> => {
  const fields = request as Readonly<Record<string, unknown>>
  const leftOut = new Set<string>()
  for (const field of model.unsupportedParameters) {
    const value = fields[field]
    if (!isSet(value)) continue
    if (!isNeutral(field, value)) return unsupported(field, `${field}: ${model.id} does not support this parameter`)
    leftOut.add(field)
  }
  for (const group of model.exclusiveParameters) {
    const present = group.filter((field) => isSet(fields[field]) && !leftOut.has(field))
    for (const field of present.slice(1)) leftOut.add(field)
  }
  return Result.succeed(leftOut)
}

/** The request without the fields the catalog's parameter rules leave out (see `catalogParameterRules`). */
export const applyParameterRules = (
  request: ChatCompletionRequest,
  model: Pick<CatalogModel, "id" | "unsupportedParameters" | "exclusiveParameters">
): Result.Result<ChatCompletionRequest, UnsupportedReason> =>
  Result.map(catalogParameterRules(request, model), (leftOut) =>
    leftOut.size === 0
      ? request
      : (Object.fromEntries(Object.entries(request).filter(([field]) => !leftOut.has(field))) as ChatCompletionRequest)
  )
