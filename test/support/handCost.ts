/**
 * Expected costs worked out apart from the code under test (Money.costOf, Metering.costOfUsage),
 * for tests whose token counts come from the run (the simulator's usage, the tokenizer's count,
 * the hammer's random answers). Tests with fixed counts write their amounts as literals instead,
 * with the arithmetic in a comment.
 *
 * A price of $P per million tokens is P × 10^9 nano-dollars per million tokens: the price's
 * decimal digits with the point moved nine places, read as an integer. A part costs tokens ×
 * that / 10^6, rounded up to the nano-dollar (the billing policy rounds each part up).
 */

/** Nano-dollars per million tokens of a catalog price written in dollars ("0.3125", 30). */
const nanosPerMillion = (dollars: string | number): bigint => {
  const match = /^(\d+)(?:\.(\d{1,9}))?$/.exec(String(dollars))
  if (match === null) throw new Error(`not a catalog price: ${dollars}`)
  return BigInt(match[1]! + (match[2] ?? "").padEnd(9, "0"))
}

/** Whole nano-dollars, rounded up, that `tokens` cost at `dollars` per million tokens. */
const part = (tokens: number, dollars: string | number): bigint => {
  const millionths = BigInt(tokens) * nanosPerMillion(dollars)
  return (millionths + 999_999n) / 1_000_000n
}

/** The prices of a model as its catalog entry writes them, in dollars per million tokens. */
export interface HandPrices {
  readonly input: string | number
  readonly cachedInput?: string | number
  readonly output: string | number
}

/** Uncached prompt × input + cached × cached input + completion × output, each part rounded up. */
export const handCost = (
  prices: HandPrices,
  counts: { readonly promptTokens: number; readonly cachedTokens?: number; readonly completionTokens: number }
): bigint => {
  const cached = counts.cachedTokens ?? 0
  return (
    part(counts.promptTokens - cached, prices.input) +
    part(cached, prices.cachedInput ?? prices.input) +
    part(counts.completionTokens, prices.output)
  )
}

/** The built-in prices the billing suites use, copied from the providers' price pages as the catalog has them. */
export const gpt4Prices: HandPrices = { input: 30, output: 60 }
export const gpt35Prices: HandPrices = { input: 0.5, output: 1.5 }
export const claude3Prices: HandPrices = { input: 0.25, cachedInput: 0.03, output: 1.25 }
export const gemini15ProPrices: HandPrices = { input: 1.25, cachedInput: 0.3125, output: 5 }
