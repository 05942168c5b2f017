/**
 * `node bench/tokens.ts`: what token arithmetic costs. The time of
 * `promptUpperBound` (it runs on every request) for a few request shapes, and the memory and
 * time of loading each BPE encoding on its first count. Figures go to docs/tokens.md; this is
 * a measurement, not a test.
 */
import { Result } from "effect"
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { type CatalogModel, plainCapabilities } from "../src/domain/Catalog.ts"
import type { ChatCompletionRequest } from "../src/domain/Chat.ts"
import { countTextTokens, promptUpperBound } from "../src/domain/Tokens.ts"

const model = (provider: CatalogModel["provider"], upstreamModel: string): CatalogModel => ({
  id: upstreamModel,
  provider,
  upstreamModel,
  ownedBy: provider,
  inputPricePerMillion: 1n,
  cachedInputPricePerMillion: 1n,
  cacheWritePricePerMillion: 1n,
  outputPricePerMillion: 1n,
  maxOutputTokens: 4096,
  contextWindow: 128_000,
  fallbacks: [],
  created: 0,
  ...plainCapabilities
})
const candidates = [
  model("openai", "gpt-4o"),
  model("anthropic", "claude-sonnet-4-5"),
  model("gemini", "gemini-2.5-pro")
]

/** A JPEG header (SOI, a 1-MB run of APP2 segments, SOF0 of 4032×3024) as base64, like a phone photo. */
const photo = (() => {
  const segments: Array<Buffer> = [Buffer.from([0xff, 0xd8])]
  for (let i = 0; i < 16; i++)
    segments.push(Buffer.concat([Buffer.from([0xff, 0xe2, 0xea, 0x62]), Buffer.alloc(60_000)]))
  segments.push(Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, 0x0b, 0xd0, 0x0f, 0xc0, 0x03]), Buffer.alloc(64))
  return `data:image/jpeg;base64,${Buffer.concat(segments).toString("base64")}`
})()

const conversation: ChatCompletionRequest = {
  model: "m",
  messages: Array.from({ length: 10 }, (_, index) => ({
    role: index % 2 === 0 ? ("user" as const) : ("assistant" as const),
    content: "A question about the gateway and its billing, asked in a few dozen words. ".repeat(3)
  }))
}
const shapes: Record<string, ChatCompletionRequest> = {
  "10 messages, 2 kB": conversation,
  "+ 8 tools": {
    ...conversation,
    tools: Array.from({ length: 8 }, (_, index) => ({
      type: "function" as const,
      function: {
        name: `tool_${index}`,
        description: "Looks something up.",
        parameters: { type: "object", properties: { q: { type: "string" } } }
      }
    }))
  },
  "+ 1 MB photo (data: URL) and a link": {
    ...conversation,
    messages: [
      ...conversation.messages,
      {
        role: "user",
        content: [
          { type: "image_url", image_url: { url: photo } },
          { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } }
        ]
      }
    ]
  }
}

const timeBounds = (): void => {
  for (const [name, request] of Object.entries(shapes)) {
    const runs = 20_000
    for (let i = 0; i < 1000; i++) Result.getOrThrow(promptUpperBound(request, candidates))
    const started = performance.now()
    for (let i = 0; i < runs; i++) Result.getOrThrow(promptUpperBound(request, candidates))
    const micros = ((performance.now() - started) * 1000) / runs
    console.log(`promptUpperBound, ${name}, 3 candidate models: ${micros.toFixed(1)} µs`)
  }
}

/** Texts without spaces are one BPE pre-token each, which costs quadratic time unless counted in slices. */
const timeLongRuns = (): void => {
  const gpt4o = model("openai", "gpt-4o")
  for (const [name, text] of [
    ["100,000 × 'x'", "x".repeat(100_000)],
    ["20,000 CJK characters", "東京都の天気は晴れ気温は二十三度です".repeat(1_112)]
  ] as const) {
    const started = performance.now()
    const tokens = countTextTokens(text, gpt4o)
    console.log(`countTextTokens, ${name}: ${tokens} tokens in ${(performance.now() - started).toFixed(0)} ms`)
  }
}

const megabytes = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`
const settle = () => (globalThis as { gc?: () => void }).gc?.()

/** One encoding per fresh process, so that neither the other encoding nor earlier garbage blurs the figure. */
const measureLoad = (upstream: string): void => {
  settle()
  const before = process.memoryUsage()
  const started = performance.now()
  countTextTokens("warm-up", model("openai", upstream))
  const loadMs = performance.now() - started
  settle()
  const after = process.memoryUsage()
  console.log(
    `${upstream === "gpt-4" ? "cl100k_base" : "o200k_base"}: first count ${loadMs.toFixed(0)} ms, RSS +${megabytes(after.rss - before.rss)}, heap +${megabytes(after.heapUsed - before.heapUsed)}`
  )
}

const only = process.argv[2]
if (only !== undefined) measureLoad(only)
else {
  timeBounds()
  timeLongRuns()
  for (const upstream of ["gpt-4", "gpt-4o"]) {
    process.stdout.write(execFileSync(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), upstream]))
  }
}
