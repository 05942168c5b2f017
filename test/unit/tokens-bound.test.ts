import { Result } from "effect"
import { describe, expect, it } from "vitest"
import type { CatalogModel } from "../../src/domain/Catalog.ts"
import type { ChatCompletionRequest, ContentPart, FunctionTool } from "../../src/domain/Chat.ts"
import { promptUpperBound } from "../../src/domain/Tokens.ts"
import { catalogModel, dataUrl, jpeg, mp3, png, wav } from "./tokensFixtures.ts"

const gpt4o = catalogModel("openai", "gpt-4o-2024-08-06")
const gpt4oMini = catalogModel("openai", "gpt-4o-mini")
const gpt41Mini = catalogModel("openai", "gpt-4.1-mini")
const gpt5 = catalogModel("openai", "gpt-5")
const unknownOpenAI = catalogModel("openai", "my-azure-deployment")
const claudeHaiku3 = catalogModel("anthropic", "claude-3-haiku-20240307")
const claudeSonnet45 = catalogModel("anthropic", "claude-sonnet-4-5-20250929")
const claudeOpus47 = catalogModel("anthropic", "claude-opus-4-7")
const unknownClaude = catalogModel("anthropic", "claude-next")
const gemini15 = catalogModel("gemini", "gemini-1.5-pro")
const gemini25 = catalogModel("gemini", "gemini-2.5-flash")
const gemini3 = catalogModel("gemini", "gemini-3-pro-preview")

const bound = (request: ChatCompletionRequest, models: ReadonlyArray<CatalogModel>): number =>
  Result.getOrThrow(promptUpperBound(request, models))

const ask = (...parts: Array<ContentPart>): ChatCompletionRequest => ({
  model: "m",
  messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, ...parts] }]
})

/** What one part adds to the ceiling for a model: the bound with it minus the bound without it. */
const costOf = (part: ContentPart, model: CatalogModel): number => bound(ask(part), [model]) - bound(ask(), [model])

const image = (url: string, detail?: "low" | "high" | "auto"): ContentPart => ({
  type: "image_url",
  image_url: detail === undefined ? { url } : { url, detail }
})

describe("promptUpperBound: text", () => {
  it("is at least one token per UTF-8 byte of every message field, plus framing", () => {
    const text = "日本語のテキスト 🎉"
    const request: ChatCompletionRequest = { model: "m", messages: [{ role: "user", content: text, name: "ann" }] }
    expect(bound(request, [gpt4o])).toBeGreaterThanOrEqual(Buffer.byteLength(text) + 3 + 4)
  })

  it("takes the largest of the models that may answer", () => {
    const request = ask(image("https://example.com/cat.jpg"))
    const each = [gpt4o, claudeHaiku3, gemini25].map((model) => bound(request, [model]))
    expect(bound(request, [gpt4o, claudeHaiku3, gemini25])).toBe(Math.max(...each))
    expect(new Set(each).size).toBe(3)
  })
})

describe("promptUpperBound: images of unknown size (links) take the largest case of the rule", () => {
  const link = "https://example.com/cat.jpg"

  it.each([
    ["gpt-4o, auto", gpt4o, undefined, 85 + 8 * 170],
    ["gpt-4o, high", gpt4o, "high", 85 + 8 * 170],
    ["gpt-4o, low", gpt4o, "low", 85],
    ["gpt-4o-mini, high", gpt4oMini, "high", 2833 + 8 * 5667],
    ["gpt-4.1-mini (patches × 1.62)", gpt41Mini, "high", Math.ceil(1536 * 1.62)],
    ["gpt-5", gpt5, "auto", 70 + 8 * 140],
    ["an OpenAI model no rule names: the dearest rule", unknownOpenAI, "auto", 2833 + 8 * 5667],
    ["Claude up to Opus 4.6", claudeSonnet45, undefined, 1640],
    ["Claude Opus 4.7", claudeOpus47, undefined, 5000],
    ["Gemini 1.5", gemini15, undefined, 258],
    ["Gemini 2.5: 16 tiles of 258", gemini25, undefined, 16 * 258],
    ["Gemini 3", gemini3, undefined, 1120]
  ] as const)("%s", (_, model, detail, tokens) => {
    expect(costOf(image(link, detail), model)).toBe(tokens)
  })
})

describe("promptUpperBound: images sent as data: URLs are sized from their header", () => {
  it("a 1024×1024 PNG costs 765 at gpt-4o, 1024 patches × 1.62 at gpt-4.1-mini, 1,399 at Claude, 4 tiles at Gemini 2.5", () => {
    const picture = image(dataUrl("image/png", png(1024, 1024)), "high")
    expect(costOf(picture, gpt4o)).toBe(765)
    expect(costOf(picture, gpt41Mini)).toBe(Math.ceil(1024 * 1.62))
    // 1024² / 750 = 1,398.1; 28-px patches: 37² = 1,369
    expect(costOf(picture, claudeHaiku3)).toBe(1399)
    expect(costOf(picture, gemini25)).toBe(4 * 258)
  })

  it("a small JPEG costs less than a link would", () => {
    const small = image(dataUrl("image/jpeg", jpeg(300, 200)))
    expect(costOf(small, gpt4o)).toBe(85 + 170)
    expect(costOf(small, gemini25)).toBe(258)
  })

  it("an image whose header cannot be read is priced as a link", () => {
    const broken = image(dataUrl("image/png", Buffer.from("not a png at all")))
    expect(costOf(broken, gpt4o)).toBe(costOf(image("https://example.com/x.png"), gpt4o))
  })
})

describe("promptUpperBound: audio", () => {
  it("a WAV is bounded by its duration from the header at 32 tokens a second", () => {
    const ten = wav(10)
    const part: ContentPart = { type: "input_audio", input_audio: { data: ten.toString("base64"), format: "wav" } }
    expect(costOf(part, gpt4o)).toBe(Math.ceil((ten.length / 32_000) * 32))
    expect(costOf(part, gemini25)).toBe(costOf(part, gpt4o))
  })

  it("an MP3 is bounded at the lowest MP3 bitrate (8 kbit/s), whatever its header claims", () => {
    const song = mp3(4, 128)
    const part: ContentPart = { type: "input_audio", input_audio: { data: song.toString("base64"), format: "mp3" } }
    expect(costOf(part, gpt4o)).toBe(Math.ceil(((song.length * 8) / 8000) * 32))
  })

  it("a format whose duration cannot be read is bounded by the model's context window", () => {
    const part: ContentPart = { type: "input_audio", input_audio: { data: "ZkxhQw==", format: "flac" } }
    expect(costOf(part, gemini25)).toBe(gemini25.contextWindow)
  })
})

describe("promptUpperBound: files", () => {
  const pdf: ContentPart = {
    type: "file",
    file: { file_data: dataUrl("application/pdf", Buffer.from("%PDF-1.7 /Type /Page")), filename: "a.pdf" }
  }
  const stored: ContentPart = { type: "file", file: { file_id: "file-abc" } }

  it("are bounded by the context window: the provider refuses, unbilled, any longer prompt", () => {
    const small = catalogModel("openai", "gpt-4o", 8_000)
    expect(costOf(pdf, small)).toBe(8_000)
    expect(costOf(stored, small)).toBe(8_000)
    expect(bound(ask(pdf, stored), [small]) - bound(ask(), [small])).toBe(8_000)
  })

  it("are refused, naming the part, when no model (so no context window) is known", () => {
    const refused = promptUpperBound(ask(pdf), [])
    expect(Result.isFailure(refused) && refused.failure).toMatchObject({ param: "messages[0].content[1]" })
  })
})

describe("promptUpperBound: refusals", () => {
  it("refuses a data: URL that is not base64, naming the field", () => {
    const request: ChatCompletionRequest = {
      model: "m",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: [image("https://example.com/ok.png"), image("data:image/png,%89PNG")] }
      ]
    }
    const refused = promptUpperBound(request, [gpt4o])
    expect(Result.isFailure(refused) && refused.failure).toEqual({
      param: "messages[1].content[1].image_url.url",
      message: "messages[1].content[1].image_url.url must be a base64 data: URL or an http(s) URL"
    })
  })
})

describe("promptUpperBound: tools and injected prompts", () => {
  const weather: FunctionTool = {
    type: "function",
    function: {
      name: "get_weather",
      description: "The weather in a city",
      parameters: { type: "object", properties: { city: { type: "string", enum: ["Paris", "Oslo"] } } }
    }
  }
  const withTools = (toolChoice?: ChatCompletionRequest["tool_choice"]): ChatCompletionRequest => ({
    ...ask(),
    tools: [weather],
    ...(toolChoice === undefined ? {} : { tool_choice: toolChoice })
  })

  it("tool definitions cost two tokens per byte of their JSON plus a per-tool overhead", () => {
    const added = bound(withTools(), [gpt4o]) - bound(ask(), [gpt4o])
    expect(added).toBeGreaterThanOrEqual(2 * Buffer.byteLength(JSON.stringify([weather])) + 7 + 12)
  })

  it.each([
    ["Claude 3 Haiku, auto", claudeHaiku3, "auto", 264],
    ["Claude 3 Haiku, none", claudeHaiku3, "none", 264],
    ["Claude 3 Haiku, required (any)", claudeHaiku3, "required", 340],
    ["Claude Sonnet 4.5, auto", claudeSonnet45, undefined, 346],
    ["Claude Sonnet 4.5, a named tool", claudeSonnet45, { type: "function", function: { name: "get_weather" } }, 313],
    ["a Claude model the table does not name", unknownClaude, "auto", 530]
  ] as const)("Anthropic's tool-use system prompt: %s", (_, model, choice, tokens) => {
    expect(bound(withTools(choice), [model]) - bound(withTools(choice), [gpt4o])).toBe(tokens)
  })

  it("tool calls, tool results and a JSON schema response format are priced as structure", () => {
    const base: ChatCompletionRequest = { model: "m", messages: [{ role: "user", content: "hi" }] }
    const arguments_ = JSON.stringify({ city: "Paris" })
    const conversation: ChatCompletionRequest = {
      ...base,
      messages: [
        ...base.messages,
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: arguments_ } }]
        },
        { role: "tool", tool_call_id: "call_1", content: '{"temperature": 21}' }
      ],
      response_format: { type: "json_schema", json_schema: { name: "answer", schema: { type: "object" } } }
    }
    expect(bound(conversation, [gpt4o]) - bound(base, [gpt4o])).toBeGreaterThan(
      2 * (arguments_.length + '{"temperature": 21}'.length) + 2 * '{"type":"object"}'.length
    )
  })
})
