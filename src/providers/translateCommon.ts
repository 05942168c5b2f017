/**
 * Pieces of request and response translation that every vendor shares: the canonical
 * chunk builder, data URLs, tool-call arguments, stop sequences, the catalog's parameter
 * rules. Pure functions.
 */
import * as Result from "effect/Result"
import type { CatalogModel } from "../domain/Catalog.ts"
import type {
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatMessage,
  ChunkChoice,
  Content,
  ContentPart,
  Usage
} from "../domain/Chat.ts"
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

/** What a translation gives: the vendor's shape, or a refusal naming the request field. */
export type Translated<A> = Result.Result<A, UnsupportedReason>

/** The text of a message's content, ignoring non-text parts. */
export const textOf = (content: Content | null | undefined): string => {
  if (content === null || content === undefined) return ""
  if (typeof content === "string") return content
  return content.map((part) => (part.type === "text" ? part.text : "")).join("")
}

/**
 * A message's content as the vendor's parts: none for no content, one text part for a string, and each
 * part of a list translated by `part`, which is given the part's field (`messages[0].content[1]`).
 */
export const contentParts = <P>(
  content: Content | null | undefined,
  param: string,
  text: (text: string) => P,
  part: (part: ContentPart, param: string) => Translated<P>
): Translated<Array<P>> =>
  Result.gen(function* () {
    if (content === null || content === undefined) return []
    if (typeof content === "string") return [text(content)]
    const parts: Array<P> = []
    for (const [index, item] of content.entries()) parts.push(yield* part(item, `${param}.content[${index}]`))
    return parts
  })

/**
 * A system or developer message's text, for vendors that take the system prompt apart, as text alone. Its
 * parts are translated first, so that a part the vendor cannot take at all is refused as such.
 */
const systemText = <P>(
  message: ChatMessage,
  param: string,
  parts: (message: ChatMessage, param: string) => Translated<Array<P>>
): Translated<string> =>
  Result.gen(function* () {
    yield* parts(message, param)
    if (typeof message.content !== "string" && (message.content ?? []).some((part) => part.type !== "text")) {
      return yield* unsupported(`${param}.content`, `${param}.content: a system message may only hold text`)
    }
    return textOf(message.content)
  })

/** A conversation for a vendor that takes the system prompt apart from the turns. */
export interface SystemApart<T> {
  /** The text of each system and developer message that has any, in order. */
  readonly system: Array<string>
  /** Every other message as the vendor's turn, in order. */
  readonly turns: Array<T>
}

/**
 * The system prompt apart: system and developer messages give their text (refused unless text alone, their
 * parts translated by `parts`), every other message the vendor's turn, made by `turn` with its field
 * (`messages[2]`).
 */
export const systemApart = <P, T>(
  messages: ReadonlyArray<ChatMessage>,
  parts: (message: ChatMessage, param: string) => Translated<Array<P>>,
  turn: (message: ChatMessage, param: string) => Translated<T>
): Translated<SystemApart<T>> =>
  Result.gen(function* () {
    const system: Array<string> = []
    const turns: Array<T> = []
    for (const [index, message] of messages.entries()) {
      const param = `messages[${index}]`
      if (message.role === "system" || message.role === "developer") {
        system.push(yield* systemText(message, param, parts))
      } else {
        turns.push(yield* turn(message, param))
      }
    }
    return { system: system.filter((text) => text !== ""), turns }
  })

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

/**
 * What each OpenAI sampling field is worth when it changes nothing (OpenAI's defaults,
 * https://platform.openai.com/docs/api-reference/chat/create): a model that refuses the field loses
 * nothing when a request sets it to this value and the field is dropped.
 */
const neutralValues: Readonly<Record<string, { readonly shown: string; readonly is: (value: unknown) => boolean }>> = {
  temperature: { shown: "1", is: (value) => value === 1 },
  top_p: { shown: "1", is: (value) => value === 1 },
  presence_penalty: { shown: "0", is: (value) => value === 0 },
  frequency_penalty: { shown: "0", is: (value) => value === 0 },
  n: { shown: "1", is: (value) => value === 1 },
  logprobs: { shown: "false", is: (value) => value === false },
  top_logprobs: { shown: "0", is: (value) => value === 0 },
  parallel_tool_calls: { shown: "true", is: (value) => value === true },
  stop: { shown: "[]", is: (value) => Array.isArray(value) && value.length === 0 },
  logit_bias: {
    shown: "{}",
    is: (value) => typeof value === "object" && value !== null && Object.keys(value).length === 0
  }
}

/** Whether `value` is what `field` is worth when it changes nothing (`neutralValues`). */
export const isNeutral = (value: unknown, field: string): boolean => neutralValues[field]?.is(value) === true

/**
 * A catalog model's parameter rules for one request; returns the fields to leave out:
 * - a field of `unsupported_parameters` set to its neutral value is left out (it changes nothing);
 *   any other value is refused (400 naming the field), since dropping it would silently change
 *   the answer;
 * - of each group of `exclusive_parameters`, the first field of the group that the request sets
 *   is kept and the others are left out (the model refuses them together).
 */
export const catalogParameterRules = (
  request: ChatCompletionRequest,
  model: Pick<CatalogModel, "id" | "unsupportedParameters" | "exclusiveParameters">
): Result.Result<ReadonlySet<string>, UnsupportedReason> => {
  const fields: Readonly<Record<string, unknown>> = request
  const leftOut = new Set<string>()
  for (const field of model.unsupportedParameters) {
    const value = fields[field]
    if (!isSet(value)) continue
    const neutral = neutralValues[field]
    if (neutral === undefined || !neutral.is(value)) {
      const hint = neutral === undefined ? "" : `; leave it out or set it to ${neutral.shown}`
      return unsupported(field, `The model ${model.id} does not support ${field}${hint}`)
    }
    leftOut.add(field)
  }
  for (const group of model.exclusiveParameters) {
    const set = group.filter((field) => isSet(fields[field]) && !leftOut.has(field))
    for (const field of set.slice(1)) leftOut.add(field)
  }
  return Result.succeed(leftOut)
}

/**
 * The request without the fields the catalog's parameter rules leave out (`catalogParameterRules`); a
 * request no rule touches is returned as it is, so that ordinary models pay one check per rule.
 */
export const applyParameterRules = <R extends ChatCompletionRequest>(
  request: R,
  model: Pick<CatalogModel, "id" | "unsupportedParameters" | "exclusiveParameters">
): Result.Result<R, UnsupportedReason> =>
  Result.map(catalogParameterRules(request, model), (leftOut) => {
    if (leftOut.size === 0) return request
    const kept = { ...request }
    for (const field of leftOut) delete (kept as Record<string, unknown>)[field]
    return kept
  })
