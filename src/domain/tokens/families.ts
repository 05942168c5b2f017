/**
 * What each upstream model family bills beyond its text: how it sizes an image, which BPE
 * encoding counts its text, and the system prompt its provider injects when tools are sent.
 * Families are recognised by the catalog's `upstreamModel`; a model no rule recognises gets
 * the most expensive rule of its provider, so that a bound stays a bound for models released
 * after this table. Sources are cited next to each table and in docs/tokens.md.
 */
import type { CatalogModel } from "../Catalog.ts"
import type { ChatCompletionRequest } from "../Chat.ts"
import type { EncodingName } from "./bpe.ts"

/**
 * How a model turns an image into tokens.
 * - `tiles` (OpenAI GPT-4o family): fit in 2048², shortest side to 768, `base + perTile × 512-px tiles`.
 * - `patches` (OpenAI GPT-4.1-mini family): 32-px patches up to `budget`, times `multiplier`.
 * - `anthropic`: ≈ width × height / 750 (28-px patches on newer models), at most `cap` per image;
 *   larger images are scaled down to `longEdge` and `pixels` first.
 * - `geminiFixed` (Gemini 1.5): one price per image. `geminiTiles` (Gemini 2.x): 258 up to
 *   384 px, else 768-px tiles of 258. `geminiBudget` (Gemini 3): a fixed budget per image.
 * - `max`: the largest of several rules, for a model no rule recognises.
 */
export type ImageRule =
  | { readonly kind: "tiles"; readonly base: number; readonly perTile: number }
  | { readonly kind: "patches"; readonly budget: number; readonly multiplier: number }
  | { readonly kind: "anthropic"; readonly cap: number; readonly longEdge: number; readonly pixels: number }
  | { readonly kind: "geminiFixed"; readonly tokens: number }
  | { readonly kind: "geminiTiles" }
  | { readonly kind: "geminiBudget"; readonly tokens: number }
  | { readonly kind: "max"; readonly rules: ReadonlyArray<ImageRule> }

/** Anthropic's tool-use system prompt, by `tool_choice`: `auto`/`none`, or `any`/`tool`. */
export interface ToolPrompt {
  readonly auto: number
  readonly forced: number
}

export interface Family {
  readonly image: ImageRule
  readonly encoding: EncodingName
  readonly toolPrompt: ToolPrompt
  /** Tokens of audio per second the provider bills (expected; the bound uses `audioTokensPerSecondCeiling`). */
  readonly audioTokensPerSecond: number
}

const tiles = (base: number, perTile: number): ImageRule => ({ kind: "tiles", base, perTile })
const patches = (budget: number, multiplier: number): ImageRule => ({ kind: "patches", budget, multiplier })

/**
 * OpenAI's image sizing per family, most specific first
 * (https://platform.openai.com/docs/guides/images-vision#calculating-costs).
 */
const openAIImageRules: ReadonlyArray<readonly [RegExp, ImageRule]> = [
  [/^gpt-4o-mini/, tiles(2833, 5667)],
  [/^gpt-4\.1-mini|^gpt-5(?:\.\d+)?-mini/, patches(1536, 1.62)],
  [/^gpt-4\.1-nano|^gpt-5(?:\.\d+)?-nano/, patches(1536, 2.46)],
  [/^o4-mini/, patches(1536, 1.72)],
  [/^gpt-5\.[23](?:$|-)/, patches(1536, 1)],
  [/^gpt-5\.[45](?:$|-)/, patches(2500, 1)],
  [/^gpt-5(?:\.1)?(?:$|-)/, tiles(70, 140)],
  [/^o[13](?:$|-)/, tiles(75, 150)],
  [/^computer-use-preview|^gpt-image-1/, tiles(65, 129)],
  [/^gpt-4o|^chatgpt-4o|^gpt-4\.1|^gpt-4\.5|^gpt-4-turbo|^gpt-4-vision|^gpt-4-1106-vision/, tiles(85, 170)],
  // gpt-4 and gpt-3.5-turbo take no images (OpenAI refuses them, unbilled); any rule does.
  [/^gpt-4(?:$|-0|-32k)|^gpt-3\.5/, tiles(85, 170)]
]

const openAIUnknownImage: ImageRule = { kind: "max", rules: openAIImageRules.map(([, rule]) => rule) }

/** cl100k_base for gpt-4 and gpt-3.5-turbo; o200k_base for gpt-4o, 4.1, 4.5, o-series and gpt-5. */
/** GPT-4 (but 4o and later), GPT-3.5 and the embedding models use cl100k_base (tiktoken's model table). */
const openAIEncoding = (upstream: string): EncodingName =>
  /^gpt-4(?:$|-0|-32k|-turbo|-vision|-1106|-0125)|^gpt-3\.5|^text-embedding-/.test(upstream)
    ? "cl100k_base"
    : "o200k_base"

/**
 * Anthropic's image limits per model: up to Claude Opus 4.6 the long edge is 1568 px and
 * ~1.15 MP, so an image stays below ~1,600 tokens (the largest documented size, 784×1568, is
 * 1,639 by pixels/750); Claude Opus 4.7 reads up to 2576 px and ~3.75 MP (5,000 by pixels/750)
 * (https://docs.claude.com/en/docs/build-with-claude/vision#evaluate-image-size).
 */
const anthropicClassic = /^claude-(?:instant|2|3)|^claude-(?:opus|sonnet|haiku)-4(?:-[0-6])?(?:$|-\d{8}$)/
const anthropicImage = (upstream: string): ImageRule =>
  anthropicClassic.test(upstream)
    ? { kind: "anthropic", cap: 1640, longEdge: 1568, pixels: 1.15e6 }
    : { kind: "anthropic", cap: 5000, longEdge: 2576, pixels: 3.75e6 }

/**
 * Anthropic's tool-use system prompt in tokens, per model and tool_choice
 * (https://docs.claude.com/en/docs/agents-and-tools/tool-use/overview#pricing).
 */
const anthropicToolPrompts: ReadonlyArray<readonly [RegExp, ToolPrompt]> = [
  [/^claude-3-opus/, { auto: 530, forced: 281 }],
  [/^claude-3-sonnet/, { auto: 159, forced: 235 }],
  [/^claude-3-haiku|^claude-3-5-haiku/, { auto: 264, forced: 340 }],
  [/^claude-3-5-sonnet|^claude-3-7-sonnet|^claude-(?:opus|sonnet|haiku)-4/, { auto: 346, forced: 313 }]
]
/** A Claude model the table does not name: the largest prompt of the table for either choice. */
const anthropicUnknownToolPrompt: ToolPrompt = { auto: 530, forced: 340 }

/**
 * Gemini's image sizing by generation (https://ai.google.dev/gemini-api/docs/tokens#multimodal-tokens,
 * https://ai.google.dev/gemini-api/docs/media-resolution): 1.x charged 258 per image, 2.x tiles,
 * 3.x a budget per image (1,120 at the default resolution, which the gateway never changes).
 */
const geminiImage = (upstream: string): ImageRule => {
  if (/^gemini-1\./.test(upstream)) return { kind: "geminiFixed", tokens: 258 }
  if (/^gemini-2\./.test(upstream)) return { kind: "geminiTiles" }
  if (/^gemini-3(?:\.|-)/.test(upstream)) return { kind: "geminiBudget", tokens: 1120 }
  return { kind: "max", rules: [{ kind: "geminiTiles" }, { kind: "geminiBudget", tokens: 1120 }] }
}

const noToolPrompt: ToolPrompt = { auto: 0, forced: 0 }

/** Strips the fine-tune prefix (`ft:gpt-4o-mini-2024-07-18:org::id`) and a provider path (`models/…`). */
const baseName = (upstream: string): string => upstream.replace(/^ft:/, "").replace(/^models\//, "")

/** Families by model: catalog models live as long as the process, and this runs on every request. */
const families = new WeakMap<Pick<CatalogModel, "provider" | "upstreamModel">, Family>()

/** The billing family of a catalog model. The simulator follows OpenAI's rules. */
export const familyOf = (model: Pick<CatalogModel, "provider" | "upstreamModel">): Family => {
  let family = families.get(model)
  if (family === undefined) {
    family = recognise(model)
    families.set(model, family)
  }
  return family
}

const recognise = (model: Pick<CatalogModel, "provider" | "upstreamModel">): Family => {
  const upstream = baseName(model.upstreamModel)
  switch (model.provider) {
    case "anthropic":
      return {
        image: anthropicImage(upstream),
        encoding: "o200k_base",
        toolPrompt: anthropicToolPrompts.find(([pattern]) => pattern.test(upstream))?.[1] ?? anthropicUnknownToolPrompt,
        audioTokensPerSecond: 0
      }
    case "gemini":
      // Gemini bills 32 tokens per second of audio (https://ai.google.dev/gemini-api/docs/audio#count-tokens).
      return {
        image: geminiImage(upstream),
        encoding: "o200k_base",
        toolPrompt: noToolPrompt,
        audioTokensPerSecond: 32
      }
    case "openai":
    case "simulator":
      return {
        image: openAIImageRules.find(([pattern]) => pattern.test(upstream))?.[1] ?? openAIUnknownImage,
        encoding: openAIEncoding(upstream),
        toolPrompt: noToolPrompt,
        // One token per 100 ms of user audio (https://platform.openai.com/docs/guides/realtime-costs).
        audioTokensPerSecond: 10
      }
  }
}

/**
 * The audio rate a bound uses for every provider: Gemini's documented 32 per second, which
 * is also above OpenAI's 10 (OpenAI documents no rate for Chat Completions audio itself).
 */
export const audioTokensPerSecondCeiling = 32

/** The tool-use prompt a request adds: none without tools; Anthropic's for `auto`/`none` or for `any`/a named tool. */
export const toolPromptTokens = (family: Family, request: ChatCompletionRequest): number => {
  if ((request.tools ?? []).length === 0) return 0
  const choice = request.tool_choice
  const forced = choice === "required" || (typeof choice === "object" && choice !== null)
  return forced ? family.toolPrompt.forced : family.toolPrompt.auto
}
