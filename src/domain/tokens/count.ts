/**
 * The best offline count of a prompt, for billing when a provider reported no usage: a real
 * BPE tokenizer (OpenAI's own encoding per model; o200k_base as the documented estimate for
 * Claude and Gemini, which publish no offline tokenizer), OpenAI's chat framing (its
 * cookbook: 3 tokens per message, 1 more with a name, 3 to prime the reply), and media by
 * the providers' sizing rules at their expected, not their worst, size.
 */
import type { CatalogModel } from "../Catalog.ts"
import type { ChatCompletionRequest, ContentPart, FunctionTool } from "../Chat.ts"
import { bpeCount } from "./bpe.ts"
import { type Family, familyOf, toolPromptTokens } from "./families.ts"
import { imageSizeOfBase64, type ImageSize } from "./imageSize.ts"
import { imageTokens } from "./imageTokens.ts"
import { audioSeconds, fileBase64, pdfPages } from "./media.ts"

const tokensPerMessage = 3
const tokensPerName = 1
const replyPrimer = 3
/** Function definitions, as OpenAI's cookbook counts them for gpt-4o: 7 per function, 12 for the list. */
const tokensPerFunction = 7
const tokensPerFunctionList = 12
/**
 * A PDF page is sent as an image and its text (https://platform.openai.com/docs/guides/pdf-files):
 * a US-letter page rendered at 150 dpi, and ~500 words of text.
 */
const letterPage: ImageSize = { width: 1275, height: 1650 }
const textTokensPerPage = 650
/** Audio the count cannot read the duration of is taken to be a 128-kbit/s stream. */
const commonAudioBytesPerSecond = 16_000

const imageSizeOfUrl = (url: string): ImageSize | undefined => {
  if (!url.startsWith("data:")) return undefined
  const comma = url.indexOf(",")
  return comma === -1 ? undefined : imageSizeOfBase64(url.slice(comma + 1))
}

const audioTokens = (audio: { readonly data: string; readonly format: string }, family: Family): number => {
  const seconds =
    audioSeconds(audio.data, audio.format, "expected") ?? (audio.data.length * 0.75) / commonAudioBytesPerSecond
  return Math.ceil(seconds * family.audioTokensPerSecond)
}

const fileTokens = (file: { readonly file_data?: string }, family: Family): number => {
  const pages = file.file_data === undefined ? 1 : pdfPages(fileBase64(file.file_data))
  return pages * (imageTokens(family.image, letterPage, "auto", "expected") + textTokensPerPage)
}

interface Counted {
  tokens: number
  /** Files and unreadable audio, which the ceiling bounds by one context window together. */
  windowBound: number
}

const countPart = (part: ContentPart, family: Family, counted: Counted): void => {
  switch (part.type) {
    case "text":
      counted.tokens += bpeCount(part.text, family.encoding)
      return
    case "image_url":
      counted.tokens += imageTokens(
        family.image,
        imageSizeOfUrl(part.image_url.url),
        part.image_url.detail ?? "auto",
        "expected"
      )
      return
    case "input_audio": {
      const tokens = audioTokens(part.input_audio, family)
      if (audioSeconds(part.input_audio.data, part.input_audio.format, "ceiling") === undefined)
        counted.windowBound += tokens
      else counted.tokens += tokens
      return
    }
    case "file":
      counted.windowBound += fileTokens(part.file, family)
      return
  }
}

const toolTokens = (tools: ReadonlyArray<FunctionTool>, family: Family): number => {
  let total = tokensPerFunctionList
  for (const { function: definition } of tools) {
    total += tokensPerFunction + bpeCount(definition.name, family.encoding)
    total += bpeCount(definition.description ?? "", family.encoding)
    total += bpeCount(JSON.stringify(definition.parameters ?? {}), family.encoding)
  }
  return total
}

export const countPrompt = (request: ChatCompletionRequest, model: CatalogModel): number => {
  const family = familyOf(model)
  const counted: Counted = { tokens: replyPrimer, windowBound: 0 }
  for (const message of request.messages) {
    counted.tokens += tokensPerMessage + bpeCount(message.role, family.encoding)
    if (message.name !== undefined) counted.tokens += tokensPerName + bpeCount(message.name, family.encoding)
    const content = message.content
    if (typeof content === "string") counted.tokens += bpeCount(content, family.encoding)
    else if (content) for (const part of content) countPart(part, family, counted)
    for (const call of message.tool_calls ?? []) {
      counted.tokens += tokensPerMessage + bpeCount(call.function.name, family.encoding)
      counted.tokens += bpeCount(call.function.arguments, family.encoding)
    }
  }
  const tools = request.tools ?? []
  if (tools.length > 0) counted.tokens += toolTokens(tools, family) + toolPromptTokens(family, request)
  const format = request.response_format
  if (format?.type === "json_schema") counted.tokens += bpeCount(JSON.stringify(format.json_schema), family.encoding)
  // A provider refuses, unbilled, a prompt beyond the context window: files cannot count more.
  return counted.tokens + Math.min(counted.windowBound, model.contextWindow)
}
