import { describe, expect, it } from "vitest"
import type { ImageRule } from "../../src/domain/tokens/families.ts"
import { imageSizeOfBase64 } from "../../src/domain/tokens/imageSize.ts"
import { imageTokens } from "../../src/domain/tokens/imageTokens.ts"
import { gif, jpeg, png, webpExtended, webpLossless, webpLossy } from "./tokensFixtures.ts"

const gpt4o: ImageRule = { kind: "tiles", base: 85, perTile: 170 }
const gpt4oMini: ImageRule = { kind: "tiles", base: 2833, perTile: 5667 }
const gpt41: ImageRule = { kind: "patches", budget: 1536, multiplier: 1 }
const gpt41Mini: ImageRule = { kind: "patches", budget: 1536, multiplier: 1.62 }
const claude: ImageRule = { kind: "anthropic", cap: 1640, longEdge: 1568, pixels: 1.15e6 }
const claudeOpus47: ImageRule = { kind: "anthropic", cap: 5000, longEdge: 2576, pixels: 3.75e6 }
const gemini2: ImageRule = { kind: "geminiTiles" }

const size = (width: number, height: number) => ({ width, height })

describe("OpenAI tile rule (GPT-4o family), worked examples of OpenAI's vision guide", () => {
  it("1024×1024 high: scaled to 768×768, 4 tiles → 765", () => {
    expect(imageTokens(gpt4o, size(1024, 1024), "high", "expected")).toBe(765)
  })

  it("2048×4096 high: 1024×2048, then 768×1536, 6 tiles → 1105", () => {
    expect(imageTokens(gpt4o, size(2048, 4096), "high", "expected")).toBe(1105)
  })

  it("low detail is 85 whatever the size", () => {
    expect(imageTokens(gpt4o, size(4096, 8192), "low", "expected")).toBe(85)
    expect(imageTokens(gpt4o, undefined, "low", "ceiling")).toBe(85)
  })

  it("rounds scaled sides as OpenAI bills them (2050×513 → 4 tiles, 2049×513 → 8), the ceiling rounds up", () => {
    expect(imageTokens(gpt4o, size(2050, 513), "high", "expected")).toBe(765)
    expect(imageTokens(gpt4o, size(2049, 513), "high", "expected")).toBe(1445)
    expect(imageTokens(gpt4o, size(2050, 513), "high", "ceiling")).toBe(1445)
  })

  it("auto is counted and bounded as high", () => {
    expect(imageTokens(gpt4o, size(1024, 1024), "auto", "expected")).toBe(765)
  })

  it("an unknown size is bounded by the most tiles any image can take (8: 768×2048) and counted as a 4:3 photo", () => {
    expect(imageTokens(gpt4o, undefined, "high", "ceiling")).toBe(85 + 8 * 170)
    expect(imageTokens(gpt4o, size(768, 2048), "high", "ceiling")).toBe(85 + 8 * 170)
    expect(imageTokens(gpt4o, undefined, "auto", "expected")).toBe(765)
    expect(imageTokens(gpt4oMini, undefined, "high", "ceiling")).toBe(2833 + 8 * 5667)
  })
})

describe("OpenAI patch rule (GPT-4.1-mini family)", () => {
  it("1024×1024 is 32×32 patches = 1024, times the model's multiplier", () => {
    expect(imageTokens(gpt41, size(1024, 1024), "high", "expected")).toBe(1024)
    expect(imageTokens(gpt41Mini, size(1024, 1024), "high", "expected")).toBe(Math.ceil(1024 * 1.62))
  })

  it("1800×2400 is scaled down into the budget: 1452 patches (OpenAI's example), the ceiling is the budget", () => {
    expect(imageTokens(gpt41, size(1800, 2400), "high", "expected")).toBe(1452)
    expect(imageTokens(gpt41Mini, size(1800, 2400), "high", "expected")).toBe(Math.ceil(1452 * 1.62))
    expect(imageTokens(gpt41Mini, size(1800, 2400), "high", "ceiling")).toBe(Math.ceil(1536 * 1.62))
    expect(imageTokens(gpt41Mini, undefined, "low", "ceiling")).toBe(Math.ceil(1536 * 1.62))
  })
})

describe("Anthropic rule", () => {
  it("1000×1000 ≈ 1334 (width × height / 750)", () => {
    expect(imageTokens(claude, size(1000, 1000), "auto", "expected")).toBe(1334)
    expect(imageTokens(claude, size(1000, 1000), "auto", "ceiling")).toBe(1334)
  })

  it("200×200 ≈ 54, and the ceiling also covers 28-px patches (8×8 = 64)", () => {
    expect(imageTokens(claude, size(200, 200), "auto", "expected")).toBe(54)
    expect(imageTokens(claude, size(200, 200), "auto", "ceiling")).toBe(64)
  })

  it("a large image is scaled down first, so one image stays below ~1,600 tokens (up to Opus 4.6)", () => {
    const photo = imageTokens(claude, size(4032, 3024), "auto", "expected")
    expect(photo).toBeLessThanOrEqual(1600)
    expect(photo).toBeGreaterThan(1500)
    expect(imageTokens(claude, size(4032, 3024), "auto", "ceiling")).toBe(1640)
    expect(imageTokens(claude, undefined, "auto", "ceiling")).toBe(1640)
  })

  it("Claude Opus 4.7 reads up to 2576 px and ~3.75 MP: 2000×2000 is scaled to 3.75 MP (5,000), the cap", () => {
    expect(imageTokens(claudeOpus47, size(1500, 1500), "auto", "expected")).toBe(3000)
    expect(imageTokens(claudeOpus47, size(2000, 2000), "auto", "expected")).toBe(5000)
    expect(imageTokens(claudeOpus47, undefined, "auto", "ceiling")).toBe(5000)
  })
})

describe("Gemini rules", () => {
  it("an image up to 384×384 is 258 on every generation", () => {
    expect(imageTokens(gemini2, size(384, 200), "auto", "expected")).toBe(258)
    expect(imageTokens({ kind: "geminiFixed", tokens: 258 }, size(4000, 4000), "auto", "ceiling")).toBe(258)
  })

  it("2.x tiles larger images in 768-px tiles of 258, after fitting them in 3072×3072", () => {
    expect(imageTokens(gemini2, size(1000, 500), "auto", "expected")).toBe(2 * 258)
    expect(imageTokens(gemini2, size(8000, 8000), "auto", "expected")).toBe(16 * 258)
    expect(imageTokens(gemini2, undefined, "auto", "ceiling")).toBe(16 * 258)
  })

  it("3.x spends its fixed budget (1,120 at the default resolution)", () => {
    expect(imageTokens({ kind: "geminiBudget", tokens: 1120 }, undefined, "auto", "ceiling")).toBe(1120)
  })
})

describe("image sizes from base64 data", () => {
  const base64 = (bytes: Buffer) => bytes.toString("base64")

  it.each([
    ["PNG", png(1234, 567)],
    ["JPEG (progressive, after an EXIF thumbnail)", jpeg(1234, 567)],
    ["JPEG with 100 kB of metadata first", jpeg(1234, 567, 100_000)],
    ["GIF", gif(1234, 567)],
    ["WebP lossy", webpLossy(1234, 567)],
    ["WebP lossless", webpLossless(1234, 567)],
    ["WebP extended", webpExtended(1234, 567)]
  ])("reads %s", (_, bytes) => {
    expect(imageSizeOfBase64(base64(bytes))).toEqual({ width: 1234, height: 567 })
  })

  it("trusts the bytes, not the media type, and knows no size for other formats or broken headers", () => {
    expect(imageSizeOfBase64(base64(Buffer.from("BM not an image at all")))).toBeUndefined()
    expect(imageSizeOfBase64(base64(png(10, 10)).slice(0, 12))).toBeUndefined()
    expect(imageSizeOfBase64("not base64 at all!!!")).toBeUndefined()
  })

  it("skips whitespace in the payload, as lenient decoders (the providers' too) do", () => {
    const wrapped = base64(jpeg(800, 600, 3000)).replace(/.{76}/g, "$&\r\n")
    expect(imageSizeOfBase64(` ${wrapped}`)).toEqual({ width: 800, height: 600 })
  })

  it("does not decode past 256 KiB for a JPEG's frame header: beyond, the size is unknown", () => {
    expect(imageSizeOfBase64(base64(jpeg(800, 600, 300_000)))).toBeUndefined()
  })

  it("gives up on a JPEG of endless fill bytes instead of walking it", () => {
    const fill = Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(200_000, 0xff)])
    expect(imageSizeOfBase64(base64(fill))).toBeUndefined()
  })
})
