import { describe, expect, it } from "vitest"
import * as Money from "../../src/domain/Money.ts"

describe("Money", () => {
  it("parses and formats decimals exactly", () => {
    expect(Money.parse("95.5")).toBe(95_500_000_000n)
    expect(Money.parse("-0.000002")).toBe(-2000n)
    expect(Money.parse("0.123456789")).toBe(123_456_789n)
    expect(Money.parse("0.1234567891")).toBeUndefined()
    expect(Money.parse("1e3")).toBeUndefined()
    expect(Money.format(95_498_000_000n)).toBe("95.498")
    expect(Money.format(-2000n)).toBe("-0.000002")
    expect(Money.format(100n * 1_000_000_000n)).toBe("100")
    expect(Money.format(0n)).toBe("0")
    // Surrounding white space (a NUMERIC column never has any) is not part of the amount.
    expect(Money.parse(" 1.5\n")).toBe(1_500_000_000n)
  })

  it("reads JSON number literals with an exponent, wherever it moves the point", () => {
    expect(Money.parseNumberLiteral("1e5")).toBe(100_000_000_000_000n)
    expect(Money.parseNumberLiteral("12e1")).toBe(120_000_000_000n)
    expect(Money.parseNumberLiteral("1.25e1")).toBe(12_500_000_000n) // the point lands inside the digits
    expect(Money.parseNumberLiteral("1.5e1")).toBe(15_000_000_000n) // just after them
    expect(Money.parseNumberLiteral("1.5E+3")).toBe(1_500_000_000_000n)
    expect(Money.parseNumberLiteral("1e-1")).toBe(100_000_000n) // just before them
    expect(Money.parseNumberLiteral("-1.5e-3")).toBe(-1_500_000n)
    expect(Money.parseNumberLiteral("1e-10")).toBeUndefined() // below a nano-dollar
    expect(Money.parseNumberLiteral("1e1000")).toBeUndefined() // a four-digit exponent is no amount
    expect(Money.parseNumberLiteral("1.e5")).toBeUndefined()
  })

  it("reads JSON numbers as their authors wrote them", () => {
    expect(Money.fromNumber(0.1)).toBe(100_000_000n)
    expect(Money.fromNumber(0.075)).toBe(75_000_000n)
    expect(Money.fromNumber(1e-7)).toBe(100n)
    expect(Money.fromNumber(1.5e21)).toBe(1_500_000_000_000_000_000_000_000_000_000n)
    expect(Money.fromNumber(1e-10)).toBeUndefined()
    expect(Money.fromNumber(Number.NaN)).toBeUndefined()
  })

  it("prices tokens per million, rounding up to the nano-dollar", () => {
    const gpt35Input = Money.parse("0.5")!
    expect(Money.costOf(1_000_000, gpt35Input)).toBe(Money.parse("0.5"))
    expect(Money.costOf(9, gpt35Input)).toBe(4500n)
    expect(Money.costOf(1, Money.parse("0.075")!)).toBe(75n)
    expect(Money.costOf(1, Money.parse("0.0001")!)).toBe(1n)
    // 0.1 + 0.2 in floating point is 0.30000000000000004; in nano-dollars it is exact.
    expect(Money.parse("0.1")! + Money.parse("0.2")!).toBe(Money.parse("0.3"))
  })

  it("tells how many tokens a budget pays for", () => {
    expect(Money.tokensAffordable(Money.parse("1")!, Money.parse("60")!)).toBe(16666)
    expect(Money.tokensAffordable(0n, Money.parse("60")!)).toBe(0)
    expect(Money.tokensAffordable(-5_000_000n, Money.parse("60")!)).toBe(0) // an overdrawn budget buys nothing
    expect(Money.tokensAffordable(5n, 0n)).toBe(Number.POSITIVE_INFINITY)
  })
})
