import { Result } from "effect"
import * as cl100k from "gpt-tokenizer/encoding/cl100k_base"
import * as o200k from "gpt-tokenizer/encoding/o200k_base"
import { describe, expect, it } from "vitest"
import type { ChatCompletionRequest, ContentPart } from "../../src/domain/Chat.ts"
import { countPromptTokens, countTextTokens, promptUpperBound } from "../../src/domain/Tokens.ts"
import { catalogModel, dataUrl, gif, jpeg, mp3, png, wav, webpLossy } from "./tokensFixtures.ts"

const models = {
  gpt4: catalogModel("openai", "gpt-4"),
  gpt35: catalogModel("openai", "gpt-3.5-turbo"),
  gpt4o: catalogModel("openai", "gpt-4o"),
  gpt4oMini: catalogModel("openai", "gpt-4o-mini-2024-07-18"),
  gpt41: catalogModel("openai", "gpt-4.1"),
  gpt41Mini: catalogModel("openai", "gpt-4.1-mini"),
  o3: catalogModel("openai", "o3"),
  o4Mini: catalogModel("openai", "o4-mini"),
  gpt5: catalogModel("openai", "gpt-5"),
  gpt54: catalogModel("openai", "gpt-5.4"),
  fineTuned: catalogModel("openai", "ft:gpt-4o-mini-2024-07-18:acme::abc123"),
  unknownOpenAI: catalogModel("openai", "my-deployment"),
  simulator: catalogModel("simulator", "sim-gpt"),
  claudeHaiku3: catalogModel("anthropic", "claude-3-haiku-20240307"),
  claudeSonnet4: catalogModel("anthropic", "claude-sonnet-4-20250514"),
  claudeOpus47: catalogModel("anthropic", "claude-opus-4-7"),
  gemini15: catalogModel("gemini", "gemini-1.5-pro"),
  gemini25: catalogModel("gemini", "gemini-2.5-flash"),
  gemini3: catalogModel("gemini", "gemini-3-pro-preview"),
  unknownGemini: catalogModel("gemini", "learnlm-2.0-flash")
}

/** Mixed Chinese and Japanese prose, 20,000 characters, none of them ASCII. */
const cjk = (() => {
  const sentence = "人工智能网关为每个请求计算令牌数量,并按照提供商的规则收费。日本語の文章も同じように数えます。"
  return sentence.repeat(Math.ceil(20_000 / sentence.length)).slice(0, 20_000)
})()

describe("countTextTokens", () => {
  it("uses cl100k_base for gpt-4 and gpt-3.5-turbo, o200k_base for the gpt-4o, 4.1, o-series and gpt-5 families", () => {
    const text = "Tokenizers differ: 東京都の天気は晴れ、気温は二十三度です。"
    expect(cl100k.countTokens(text)).not.toBe(o200k.countTokens(text))
    for (const model of [models.gpt4, models.gpt35]) expect(countTextTokens(text, model)).toBe(cl100k.countTokens(text))
    for (const model of [models.gpt4o, models.gpt41, models.o3, models.o4Mini, models.gpt5, models.fineTuned]) {
      expect(countTextTokens(text, model)).toBe(o200k.countTokens(text))
    }
  })

  it("estimates Claude and Gemini with o200k_base (neither publishes an offline tokenizer)", () => {
    const text = "Claude and Gemini tokenize differently; this is an estimate."
    expect(countTextTokens(text, models.claudeSonnet4)).toBe(o200k.countTokens(text))
    expect(countTextTokens(text, models.gemini25)).toBe(o200k.countTokens(text))
  })

  it("counts 20,000 CJK characters at 0.6–1.2 tokens each (o200k_base; 0.72 for this text), not the 5,000 of characters ÷ 4", () => {
    for (const model of [models.gpt4o, models.claudeSonnet4, models.gemini25]) {
      const tokens = countTextTokens(cjk, model)
      expect(tokens).toBeGreaterThan(20_000 * 0.6)
      expect(tokens).toBeLessThan(20_000 * 1.2)
    }
    // cl100k_base (gpt-4) splits CJK finer: about one token per character or more.
    expect(countTextTokens(cjk, models.gpt4)).toBeGreaterThan(20_000)
  })

  it("counts a long run without spaces in slices (linear time), within 2 % above its true count", () => {
    // A true count of one 3,000-character run is still quick; 100,000 characters would take seconds.
    const cjkRun = "東京都の天気は晴れ気温は二十三度です".repeat(170)
    const letters = "x".repeat(3_000)
    const emoji = "😀".repeat(1_500)
    for (const run of [cjkRun, letters, emoji]) {
      const truth = o200k.countTokens(run)
      const sliced = countTextTokens(run, models.gpt4o)
      expect(sliced).toBeGreaterThanOrEqual(truth)
      expect(sliced).toBeLessThanOrEqual(Math.ceil(truth * 1.02) + 1)
    }
  })

  it("counts special-token strings in user text as text, not as control tokens", () => {
    expect(countTextTokens("<|endoftext|>", models.gpt4o)).toBeGreaterThan(1)
    expect(countTextTokens("", models.gpt4o)).toBe(0)
  })
})

describe("countPromptTokens", () => {
  it("follows OpenAI's framing: 3 per message, 1 per name, 3 to prime the reply", () => {
    const request: ChatCompletionRequest = {
      model: "m",
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Hello there", name: "ann" }
      ]
    }
    const expected =
      3 +
      3 +
      o200k.countTokens("system") +
      o200k.countTokens("You are terse.") +
      3 +
      o200k.countTokens("user") +
      o200k.countTokens("Hello there") +
      1 +
      o200k.countTokens("ann")
    expect(countPromptTokens(request, models.gpt4o)).toBe(expected)
  })

  it("counts images at their expected size: 765 for a 1024×1024 gpt-4o image in high detail", () => {
    const text: ChatCompletionRequest = { model: "m", messages: [{ role: "user", content: [] }] }
    const withImage: ChatCompletionRequest = {
      model: "m",
      messages: [
        {
          role: "user",
          content: [{ type: "image_url", image_url: { url: dataUrl("image/png", png(1024, 1024)), detail: "high" } }]
        }
      ]
    }
    expect(countPromptTokens(withImage, models.gpt4o) - countPromptTokens(text, models.gpt4o)).toBe(765)
    expect(countPromptTokens(withImage, models.claudeHaiku3) - countPromptTokens(text, models.claudeHaiku3)).toBe(1399)
  })

  it("counts audio by its duration at the provider's rate: 10 a second at OpenAI, 32 at Gemini", () => {
    const part = (data: Buffer, format: string): ChatCompletionRequest => ({
      model: "m",
      messages: [
        { role: "user", content: [{ type: "input_audio", input_audio: { data: data.toString("base64"), format } }] }
      ]
    })
    const empty: ChatCompletionRequest = { model: "m", messages: [{ role: "user", content: [] }] }
    const seconds = wav(10).length / 32_000
    expect(countPromptTokens(part(wav(10), "wav"), models.gpt4o) - countPromptTokens(empty, models.gpt4o)).toBe(
      Math.ceil(seconds * 10)
    )
    expect(countPromptTokens(part(wav(10), "wav"), models.gemini25) - countPromptTokens(empty, models.gemini25)).toBe(
      Math.ceil(seconds * 32)
    )
    // An MP3 at its own bitrate (64 kbit/s here): about 4 s, where the ceiling assumes 8 kbit/s.
    const song = mp3(4, 64)
    expect(countPromptTokens(part(song, "mp3"), models.gemini25) - countPromptTokens(empty, models.gemini25)).toBe(
      Math.ceil(((song.length * 8) / 64_000) * 32)
    )
  })
})

describe("the ceiling property: countPromptTokens ≤ promptUpperBound for every provider's model", () => {
  const texts = [
    "Plain English, the common case.",
    cjk.slice(0, 3000),
    "Emoji 👩‍👩‍👧‍👦🏳️‍🌈🇯🇵 and combining marks: é̃ ǹ̈ Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
    "function add(a: number, b: number): number {\n\treturn a + b // ∑\n}\n".repeat(20),
    "   \n\n\t\t    many    spaces     and\ttabs    ".repeat(30),
    "<|endoftext|><|im_start|>system<|im_end|>",
    "العربية والعبرية עברית และภาษาไทย",
    "a",
    ""
  ]
  const parts: ReadonlyArray<ContentPart> = [
    { type: "image_url", image_url: { url: "https://example.com/photo.jpg" } },
    { type: "image_url", image_url: { url: "https://example.com/photo.jpg", detail: "low" } },
    { type: "image_url", image_url: { url: dataUrl("image/jpeg", jpeg(4032, 3024)), detail: "high" } },
    { type: "image_url", image_url: { url: dataUrl("image/gif", gif(100, 3000)) } },
    { type: "image_url", image_url: { url: dataUrl("image/webp", webpLossy(2049, 513)), detail: "high" } },
    { type: "image_url", image_url: { url: dataUrl("image/png", png(1800, 2400)) } },
    { type: "input_audio", input_audio: { data: wav(3).toString("base64"), format: "wav" } },
    { type: "input_audio", input_audio: { data: mp3(2, 320).toString("base64"), format: "mp3" } },
    { type: "input_audio", input_audio: { data: Buffer.alloc(4000).toString("base64"), format: "ogg" } },
    { type: "file", file: { file_data: dataUrl("application/pdf", Buffer.from("/Type /Page /Type /Page")) } },
    { type: "file", file: { file_id: "file-123" } }
  ]
  const requests: Array<[string, ChatCompletionRequest]> = texts.map((text) => [
    `text ${JSON.stringify(text.slice(0, 24))}`,
    {
      model: "m",
      messages: [
        { role: "system", content: text },
        { role: "user", content: [{ type: "text", text }, ...parts], name: "tester" },
        {
          role: "assistant",
          content: text,
          tool_calls: [
            { id: "call_9", type: "function", function: { name: "lookup", arguments: JSON.stringify({ q: text }) } }
          ]
        },
        { role: "tool", tool_call_id: "call_9", content: text }
      ],
      tools: [
        {
          type: "function",
          function: {
            name: "lookup",
            description: text,
            parameters: { type: "object", properties: { q: { type: "string", enum: [text, "1", "2", "3"] } } }
          }
        }
      ],
      tool_choice: "required",
      response_format: {
        type: "json_schema",
        json_schema: { name: "out", schema: { type: "object", description: text } }
      }
    }
  ])

  // Framing dominates here: each message's own bytes are fewer than OpenAI's tokens for it.
  requests.push([
    "200 one-letter messages with names",
    {
      model: "m",
      messages: Array.from({ length: 200 }, (_, index) => ({
        role: "user" as const,
        content: "a",
        name: `${index % 10}`
      }))
    }
  ])

  it.each(requests)("%s", (_, request) => {
    for (const [name, model] of Object.entries(models)) {
      const count = countPromptTokens(request, model)
      const ceiling = Result.getOrThrow(promptUpperBound(request, [model]))
      expect(count, name).toBeGreaterThan(0)
      expect(count, name).toBeLessThanOrEqual(ceiling)
    }
  })

  it("holds for text alone at one token per byte, for each encoding", () => {
    for (const text of [...texts, cjk]) {
      expect(o200k.countTokens(text, { disallowedSpecial: new Set() })).toBeLessThanOrEqual(Buffer.byteLength(text))
      expect(cl100k.countTokens(text, { disallowedSpecial: new Set() })).toBeLessThanOrEqual(Buffer.byteLength(text))
    }
  })
})
