/**
 * The tokens one image costs under a family's rule, two ways: the `ceiling` a hold must
 * cover (rounding every scaled side up, the largest image the rule allows when the size is
 * unknown) and the `expected` count for billing without usage (the providers' own rounding;
 * an image of unknown size is taken to be a 12-MP 4:3 photo, 4032×3024, the common case of a
 * linked picture). Rules and sources: ./families.ts and docs/tokens.md.
 */
import type { ImageRule } from "./families.ts"
import type { ImageSize } from "./imageSize.ts"

export type Detail = "auto" | "low" | "high"
export type Estimate = "ceiling" | "expected"

/** What an image of unknown size is assumed to be when counting (not when bounding). */
export const typicalPhoto: ImageSize = { width: 4032, height: 3024 }

/** Float noise from scaling must not add a tile: 1024.0000000001 px is 1024 px. */
const up = (value: number): number => Math.ceil(value - 1e-6)

/** Python's round(), which OpenAI's sizing uses: halves go to the even neighbour (512.5 → 512). */
const roundHalfEven = (value: number): number => {
  const floor = Math.floor(value)
  const fraction = value - floor
  if (Math.abs(fraction - 0.5) > 1e-9) return Math.round(value)
  return floor % 2 === 0 ? floor : floor + 1
}

const scaled = (size: ImageSize, factor: number): ImageSize =>
  factor >= 1 ? size : { width: size.width * factor, height: size.height * factor }

/** OpenAI GPT-4o family: fit in 2048×2048, shortest side down to 768, 512-px tiles. */
const tileTokens = (
  rule: { readonly base: number; readonly perTile: number },
  size: ImageSize | undefined,
  detail: Detail,
  estimate: Estimate
): number => {
  if (detail === "low") return rule.base
  // `auto` lets OpenAI choose; both estimates take `high`, the dearer choice.
  if (size === undefined)
    return estimate === "ceiling" ? rule.base + rule.perTile * 8 : tileTokens(rule, typicalPhoto, detail, estimate)
  const fitted = scaled(size, 2048 / Math.max(size.width, size.height))
  const shortened = scaled(fitted, 768 / Math.min(fitted.width, fitted.height))
  const side = estimate === "ceiling" ? up : roundHalfEven
  return rule.base + rule.perTile * up(side(shortened.width) / 512) * up(side(shortened.height) / 512)
}

const patchesCovering = (width: number, height: number): number => up(width / 32) * up(height / 32)

/**
 * OpenAI GPT-4.1-mini family: 32-px patches; past the budget the image is scaled down to fit
 * it (OpenAI's documented algorithm, for the count). The ceiling is the budget itself, which
 * OpenAI has been seen to bill for images its own algorithm puts slightly below it.
 */
const patchTokens = (
  rule: { readonly budget: number; readonly multiplier: number },
  size: ImageSize | undefined,
  estimate: Estimate
): number => {
  if (size === undefined && estimate === "ceiling") return Math.ceil(rule.budget * rule.multiplier)
  const { width, height } = size ?? typicalPhoto
  const raw = patchesCovering(width, height)
  let patches = Math.min(raw, rule.budget)
  if (estimate === "expected" && raw > rule.budget) {
    let shrink = Math.sqrt((32 * 32 * rule.budget) / (width * height))
    const across = (width * shrink) / 32
    const down = (height * shrink) / 32
    shrink *= Math.min(Math.floor(across) / across, Math.floor(down) / down)
    patches = Math.min(rule.budget, patchesCovering(Math.floor(width * shrink), Math.floor(height * shrink)))
  }
  return Math.ceil(patches * rule.multiplier)
}

/**
 * Anthropic: width × height / 750, or 28-px patches on newer models; the ceiling takes the
 * larger of both on the sent size (downscaling only lowers either), capped per model. The
 * count scales down to the long edge and pixel limit first, as Claude does.
 */
const anthropicTokens = (
  rule: { readonly cap: number; readonly longEdge: number; readonly pixels: number },
  size: ImageSize | undefined,
  estimate: Estimate
): number => {
  if (estimate === "ceiling") {
    if (size === undefined) return rule.cap
    const byPixels = Math.ceil((size.width * size.height) / 750)
    return Math.min(rule.cap, Math.max(byPixels, patchesOf28(size)))
  }
  const { width, height } = size ?? typicalPhoto
  const factor = Math.min(1, rule.longEdge / Math.max(width, height), Math.sqrt(rule.pixels / (width * height)))
  return Math.min(rule.cap, Math.ceil((width * factor * height * factor) / 750))
}

const patchesOf28 = (size: ImageSize): number => up(size.width / 28) * up(size.height / 28)

/** Gemini 2.x: 258 up to 384×384; else scaled to fit 3072×3072 and cut into 768-px tiles of 258. */
const geminiTileTokens = (size: ImageSize | undefined, estimate: Estimate): number => {
  if (size === undefined && estimate === "ceiling") return 16 * 258
  const image = size ?? typicalPhoto
  if (image.width <= 384 && image.height <= 384) return 258
  const fitted = scaled(image, 3072 / Math.max(image.width, image.height))
  return up(fitted.width / 768) * up(fitted.height / 768) * 258
}

export const imageTokens = (
  rule: ImageRule,
  size: ImageSize | undefined,
  detail: Detail,
  estimate: Estimate
): number => {
  switch (rule.kind) {
    case "tiles":
      return tileTokens(rule, size, detail, estimate)
    case "patches":
      return patchTokens(rule, size, estimate)
    case "anthropic":
      return anthropicTokens(rule, size, estimate)
    case "geminiFixed":
    case "geminiBudget":
      return rule.tokens
    case "geminiTiles":
      return geminiTileTokens(size, estimate)
    case "max":
      return Math.max(...rule.rules.map((each) => imageTokens(each, size, detail, estimate)))
  }
}
