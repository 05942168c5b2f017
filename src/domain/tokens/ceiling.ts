/**
 * The guaranteed ceiling on a prompt's billed input tokens. The request is read once into
 * what does not depend on the model (text and structure, as UTF-8 bytes) and the media whose
 * price does (images, audio, files); each model then adds its own rules. Cheap on purpose:
 * no tokenizer, and media are sized from their headers only.
 *
 * Why bytes: no byte-level BPE token is shorter than one byte, and SentencePiece-style
 * tokenizers with byte fallback (Gemini) use at most one token per byte too.
 */
import { Result } from "effect"
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

interface Media {
  readonly images: Array<{ readonly size: ImageSize | undefined; readonly detail: Detail }>
  /** Seconds of each audio part whose duration has a ceiling. */
  readonly audioSeconds: Array<number>
  /** Parts only a model's context window bounds: files, audio of unreadable duration. */
  readonly windowBound: Array<string>
}

/** The request, read once: model-independent tokens and the media each model prices. */
interface Scanned extends Media {
  readonly fixed: number
}

const imageOf = (url: string, param: string): Result.Result<ImageSize | undefined, PromptUnbounded> => {
  if (!url.startsWith("data:")) return Result.succeed(undefined) // a link: its size is unknown until fetched
  const comma = url.indexOf(",")
  if (comma === -1 || !url.slice(0, comma).endsWith(";base64")) {
    return Result.fail({ message: `${param} must be a base64 data: URL or an http(s) URL`, param })
  }
  return Result.succeed(imageSizeOfBase64(url.slice(comma + 1)))
}

const partTokens = (part: ContentPart, param: string, tool: boolean, media: Media) =>
  Result.gen(function* () {
    switch (part.type) {
      case "text":
        return tool ? structured(part.text) : bytes(part.text)
      case "image_url": {
        const size = yield* imageOf(part.image_url.url, `${param}.image_url.url`)
        media.images.push({ size, detail: part.image_url.detail ?? "auto" })
        return 0
      }
      case "input_audio": {
        const seconds = audioSeconds(part.input_audio.data, part.input_audio.format, "ceiling")
        if (seconds === undefined) media.windowBound.push(param)
        else media.audioSeconds.push(seconds)
        return 0
      }
      case "file":
        media.windowBound.push(param)
        return 0
    }
  })

const messageTokens = (message: ChatMessage, param: string, media: Media) =>
  Result.gen(function* () {
    const tool = message.role === "tool"
    let total = messageFraming + bytes(message.role)
    if (message.name !== undefined) total += bytes(message.name)
    if (message.tool_call_id !== undefined) total += bytes(message.tool_call_id)
    if (message.tool_calls !== undefined) {
      total += structured(message.tool_calls) + structureWrapper * message.tool_calls.length
    }
    const content = message.content
    if (typeof content === "string") total += tool ? structured(content) : bytes(content)
    else if (content) {
      for (const [index, part] of content.entries()) {
        total += yield* partTokens(part, `${param}.content[${index}]`, tool, media)
      }
    }
    return total
  })

const scan = (request: ChatCompletionRequest): Result.Result<Scanned, PromptUnbounded> =>
  Result.gen(function* () {
    const media: Media = { images: [], audioSeconds: [], windowBound: [] }
    let fixed = requestFraming
    for (const [index, message] of request.messages.entries()) {
      fixed += yield* messageTokens(message, `messages[${index}]`, media)
    }
    const tools = request.tools ?? []
    if (tools.length > 0) fixed += structured(tools) + perTool * tools.length + toolList
    const format = request.response_format
    if (format !== undefined && format !== null && format.type !== "text") fixed += structured(format)
    return { ...media, fixed }
  })

/** A model for the rules of each provider, when the caller names none: any provider may answer. */
const anyProvider = (["openai", "anthropic", "google"] as const).map((provider) => ({ provider, upstreamModel: "" }))

const ceilingFor = (
  request: ChatCompletionRequest,
  scanned: Scanned,
  model: Pick<CatalogModel, "provider" | "upstreamModel"> & { readonly contextWindow?: number }
): Result.Result<number, PromptUnbounded> => {
  const family = familyOf(model)
  let total = scanned.fixed + toolPromptTokens(family, request)
  for (const image of scanned.images) total += imageTokens(family.image, image.size, image.detail, "ceiling")
  for (const seconds of scanned.audioSeconds) total += Math.ceil(seconds * audioTokensPerSecondCeiling)
  if (scanned.windowBound.length > 0) {
    // A PDF's extracted text has no bound the gateway can compute without inflating it, and a
    // file_id's content is not seen at all; but a provider refuses, unbilled, a prompt longer
    // than the model's context window, so one window bounds all such parts together.
    if (model.contextWindow === undefined) {
      const param = scanned.windowBound[0]!
      return Result.fail({ message: `${param}: its cost has no bound without the model's context window`, param })
    }
    total += model.contextWindow
  }
  return Result.succeed(total)
}

export const promptCeiling = (
  request: ChatCompletionRequest,
  models: ReadonlyArray<CatalogModel>
): Result.Result<number, PromptUnbounded> =>
  Result.gen(function* () {
    const scanned = yield* scan(request)
    let ceiling = 0
    for (const model of models.length > 0 ? models : anyProvider) {
      ceiling = Math.max(ceiling, yield* ceilingFor(request, scanned, model))
    }
    return ceiling
  })
