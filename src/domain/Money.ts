/**
 * Money is an integer count of nano-dollars (1e-9 USD) held in a `bigint`, and a
 * NUMERIC(30, 9) in PostgreSQL. No floating-point arithmetic touches an amount;
 * `toNumber` exists only to print JSON numbers, as the API shapes require.
 */
export type Nanos = bigint

export const SCALE = 9
const UNIT = 10n ** BigInt(SCALE)

const decimalPattern = /^(-?)(\d+)(?:\.(\d+))?$/

/** Parses a decimal string ("95.5", "-0.000002") exactly; undefined if it is not one or has more than 9 decimals. */
export const parse = (text: string): Nanos | undefined => {
  const match = decimalPattern.exec(text.trim())
  if (match === null) return undefined
  const [, sign, whole, fraction = ""] = match
  if (fraction.length > SCALE) return undefined
  const value = BigInt(whole!) * UNIT + BigInt(fraction.padEnd(SCALE, "0"))
  return sign === "-" ? -value : value
}

/**
 * Parses a JSON number literal exactly, exponent included ("1e-7", "1.5E+3"); undefined if it
 * is not one or has more than 9 decimals.
 */
export const parseNumberLiteral = (literal: string): Nanos | undefined => {
  const text = literal.toLowerCase()
  const exponentAt = text.indexOf("e")
  if (exponentAt === -1) return parse(text)
  if (!/^-?\d+(\.\d+)?e[+-]?\d{1,3}$/.test(text)) return undefined
  // 1e-7 or 1.5e+21: shift the decimal point of the mantissa by the exponent.
  const mantissa = text.slice(0, exponentAt)
  const exponent = Number(text.slice(exponentAt + 1))
  const negative = mantissa.startsWith("-")
  const [whole, fraction = ""] = (negative ? mantissa.slice(1) : mantissa).split(".")
  const digits = whole! + fraction
  const point = whole!.length + exponent
  const plain =
    point <= 0
      ? `0.${"0".repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + "0".repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`
  return parse(negative ? `-${plain}` : plain)
}

/**
 * Parses a JSON number the way its author wrote it: `String(n)` is the shortest decimal that
 * reads back to the same double, which is the literal from the file or request whenever a
 * double holds that literal exactly.
 */
export const fromNumber = (value: number): Nanos | undefined =>
  Number.isFinite(value) ? parseNumberLiteral(String(value)) : undefined

/** Formats with trailing zeros removed: 95500000000n → "95.5". */
export const format = (value: Nanos): string => {
  const negative = value < 0n
  const magnitude = negative ? -value : value
  const whole = magnitude / UNIT
  const fraction = (magnitude % UNIT).toString().padStart(SCALE, "0").replace(/0+$/, "")
  return `${negative ? "-" : ""}${whole}${fraction === "" ? "" : `.${fraction}`}`
}

/** For JSON output only. */
export const toNumber = (value: Nanos): number => Number(format(value))

const ceilDiv = (numerator: bigint, denominator: bigint): bigint =>
  numerator >= 0n ? (numerator + denominator - 1n) / denominator : numerator / denominator

/** The cost of `tokens` at a price per million tokens, rounded up to the next nano-dollar. */
export const costOf = (tokens: number, pricePerMillion: Nanos): Nanos =>
  ceilDiv(BigInt(Math.max(0, Math.trunc(tokens))) * pricePerMillion, 1_000_000n)

/** How many tokens `budget` pays for at a price per million (floor); Infinity when the price is zero. */
export const tokensAffordable = (budget: Nanos, pricePerMillion: Nanos): number =>
  pricePerMillion === 0n ? Number.POSITIVE_INFINITY : budget <= 0n ? 0 : Number((budget * 1_000_000n) / pricePerMillion)
