// @ts-check
/** Amounts (exact decimal text, as the gateway writes them), dates and numbers as people read them. */

const nanosPerUsd = 1_000_000_000n

/**
 * "12.5" → 12500000000n.
 * @param {string} decimal
 */
export const nanos = (decimal) => {
  const negative = decimal.startsWith("-")
  const [whole = "0", fraction = ""] = (negative ? decimal.slice(1) : decimal).split(".")
  const value = BigInt(whole) * nanosPerUsd + BigInt(fraction.padEnd(9, "0").slice(0, 9))
  return negative ? -value : value
}

/**
 * 12500000000n → "$12.50"; small amounts keep their digits ("$0.000123"), never rounded away.
 * @param {bigint} amount
 */
export const usdOfNanos = (amount) => {
  const sign = amount < 0n ? "−" : ""
  const absolute = amount < 0n ? -amount : amount
  const whole = (absolute / nanosPerUsd).toLocaleString("en-US")
  const fraction = String(absolute % nanosPerUsd)
    .padStart(9, "0")
    .replace(/0+$/, "")
    .padEnd(2, "0")
  return `${sign}$${whole}.${fraction}`
}

/** @param {string} decimal */
export const usd = (decimal) => usdOfNanos(nanos(decimal))

/** @param {number} value */
export const count = (value) => value.toLocaleString("en-US")

/** @param {string} iso */
export const dateTime = (iso) => {
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().replace("T", " ").slice(0, 19) + " UTC"
}

/**
 * "2026-12-01" for a Date, in UTC (the gateway's days are UTC days).
 * @param {Date} date
 */
export const day = (date) => date.toISOString().slice(0, 10)

/**
 * The day `days` after `isoDay`.
 * @param {string} isoDay
 * @param {number} days
 */
export const addDays = (isoDay, days) => day(new Date(Date.parse(`${isoDay}T00:00:00Z`) + days * 86_400_000))

/**
 * Every day from `from` to `to`, both included.
 * @param {string} from
 * @param {string} to
 */
export const daysBetween = (from, to) => {
  const days = []
  for (let current = from; current <= to && days.length < 1000; current = addDays(current, 1)) days.push(current)
  return days
}
