/**
 * The guaranteed ceiling on a prompt's billed input tokens. The request is read once into
 * what does not depend on the model (text and structure, as UTF-8 bytes) and the media whose
 * price does (images, audio, files); each model then adds its own rules. Cheap on purpose:
 * no tokenizer, and media are sized from their headers only.
 *
 * Why bytes: no byte-level BPE token is shorter than one byte, and SentencePiece-style
 * tokenizers with byte fallback (Gemini) use at most one token per byte too.
 */
import * as Result from "effect/Result"
import type { CatalogModel } from "../Catalog.ts"
import type { ChatCompletionRequest, ChatMessage, ContentPart } from "../Chat.ts"
import { audioTokensPerSecondCeiling, familyOf, toolPromptTokens } from "./families.ts"
import { imageSizeOfBase64, type ImageSize } from "./imageSize.ts"
import { type Detail, imageTokens } from "./imageTokens.ts"
import { audioSeconds } from "./media.ts"

/** A part of a prompt whose cost cannot be bounded: the request is refused (400) naming it. */
export interface PromptUnbounded {
  readonly message: string
  /** The request field at fault, e.g. `messages[2].content[1]`. */
  readonly param: string
}

/** The chat template around the whole prompt (OpenAI's reply primer is 3) and around each message (3–4 at OpenAI). */
const requestFraming = 16
const messageFraming = 8
/**
 * Tool calls, tool results, tool definitions and schemas are re-serialized by the provider
 * (arguments parsed and printed again, schemas rendered as TypeScript or XML, results
 * wrapped): two tokens per byte of their JSON, plus a wrapper per call or result.
 */
const structuredFactor = 2
const structureWrapper = 16
/** Per tool definition and once for the list: OpenAI's function formatting (7 + 12 tokens in its cookbook). */
const perTool = 32
const toolList = 16

const bytes = (text: string): number => Buffer.byteLength(text, "utf8")
const structured = (value: unknown): number => structuredFactor * bytes(JSON.stringify(value)) + structureWrapper

/** The request, read once: model-independent tokens and the media each model prices. */
interface Scanned {
  fixed: number
  readonly images: Array<{ readonly size: ImageSize | undefined; readonly detail: Detail }>
  /** Seconds of each audio part whose duration has a ceiling. */
  readonly audioSeconds: Array<number>
  /** Parts only a model's context window bounds: files, audio of unreadable duration. */
  readonly windowBound: Array<string>
  /** The first part that cannot be priced at all. */
  refused: PromptUnbounded | undefined
}

/** A link's size is unknown until fetched; a data: URL's header says it. */
const scanImage = (url: string, detail: Detail, param: string, scanned: Scanned): void => {
  if (!url.startsWith("data:")) {
    scanned.images.push({ size: undefined, detail })
    return
  }
  const comma = url.indexOf(",")
  if (comma === -1 || !url.slice(0, comma).endsWith(";base64")) {
    scanned.refused ??= { message: `${param} must be a base64 data: URL or an http(s) URL`, param }
    return
  }
  scanned.images.push({ size: imageSizeOfBase64(url.slice(comma + 1)), detail })
}

const scanPart = (part: ContentPart, param: string, tool: boolean, scanned: Scanned): void => {
  switch (part.type) {
    case "text":
      scanned.fixed += tool ? structured(part.text) : bytes(part.text)
      return
    case "image_url":
      return scanImage(part.image_url.url, part.image_url.detail ?? "auto", `${param}.image_url.url`, scanned)
    case "input_audio": {
      const seconds = audioSeconds(part.input_audio.data, part.input_audio.format, "ceiling")
      if (seconds === undefined) scanned.windowBound.push(param)
      else scanned.audioSeconds.push(seconds)
      return
    }
    case "file":
      scanned.windowBound.push(param)
      return
  }
}

const scanMessage = (message: ChatMessage, index: number, scanned: Scanned): void => {
  const tool = message.role === "tool"
  scanned.fixed += messageFraming + bytes(message.role)
  if (message.name !== undefined) scanned.fixed += bytes(message.name)
  if (message.tool_call_id !== undefined) scanned.fixed += bytes(message.tool_call_id)
  if (message.tool_calls !== undefined) {
    scanned.fixed += structured(message.tool_calls) + structureWrapper * message.tool_calls.length
  }
  const content = message.content
  if (typeof content === "string") scanned.fixed += tool ? structured(content) : bytes(content)
  else if (content) {
    for (let part = 0; part < content.length; part++) {
      scanPart(content[part]!, `messages[${index}].content[${part}]`, tool, scanned)
    }
  }
}

const scan = (request: ChatCompletionRequest): Scanned => {
  const scanned: Scanned = { fixed: requestFraming, images: [], audioSeconds: [], windowBound: [], refused: undefined }
  for (let index = 0; index < request.messages.length; index++) scanMessage(request.messages[index]!, index, scanned)
  const tools = request.tools ?? []
  if (tools.length > 0) scanned.fixed += structured(tools) + perTool * tools.length + toolList
  const format = request.response_format
  if (format !== undefined && format !== null && format.type !== "text") scanned.fixed += structured(format)
  return scanned
}

type PricedModel = Pick<CatalogModel, "provider" | "upstreamModel"> & { readonly contextWindow?: number }

/** A model for the rules of each provider, when the caller names none: any provider may answer. */
const anyProvider: ReadonlyArray<PricedModel> = (["openai", "anthropic", "gemini"] as const).map((provider) => ({
  provider,
  upstreamModel: ""
}))

/** The ceiling for one model, or undefined when a part only a context window bounds meets a model without one. */
const ceilingFor = (request: ChatCompletionRequest, scanned: Scanned, model: PricedModel): number | undefined => {
  const family = familyOf(model)
  let total = scanned.fixed + toolPromptTokens(family, request)
  for (const image of scanned.images) total += imageTokens(family.image, image.size, image.detail, "ceiling")
  for (const seconds of scanned.audioSeconds) total += Math.ceil(seconds * audioTokensPerSecondCeiling)
  if (scanned.windowBound.length === 0) return total
  // A PDF's extracted text has no bound the gateway can compute without inflating it, and a
  // file_id's content is not seen at all; but a provider refuses, unbilled, a prompt longer
  // than the model's context window, so one window bounds all such parts together.
  return model.contextWindow === undefined ? undefined : total + model.contextWindow
}

export const promptCeiling = (
  request: ChatCompletionRequest,
  models: ReadonlyArray<CatalogModel>
): Result.Result<number, PromptUnbounded> => {
  const scanned = scan(request)
  if (scanned.refused !== undefined) return Result.fail(scanned.refused)
  let ceiling = 0
  for (const model of models.length > 0 ? models : anyProvider) {
    const bound = ceilingFor(request, scanned, model)
    if (bound === undefined) {
      const param = scanned.windowBound[0]!
      return Result.fail({ message: `${param}: its cost has no bound without the model's context window`, param })
    }
    ceiling = Math.max(ceiling, bound)
  }
  return Result.succeed(ceiling)
}
