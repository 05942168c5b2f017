import { describe, expect, it } from "vitest"
import { nestsDeeperThan } from "../../src/domain/jsonDepth.ts"

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth)

describe("nestsDeeperThan", () => {
  it("counts objects and arrays inside one another, up to the limit and one past it", () => {
    expect(nestsDeeperThan(nested(64), 64)).toBe(false)
    expect(nestsDeeperThan(nested(65), 64)).toBe(true)
    expect(nestsDeeperThan('{"a":{"b":[{"c":[1,2,{}]}]}}', 6)).toBe(false)
    expect(nestsDeeperThan('{"a":{"b":[{"c":[1,2,{}]}]}}', 5)).toBe(true)
    // Siblings do not add up: depth is nesting, not count.
    expect(nestsDeeperThan(`[${Array.from({ length: 1000 }, () => "[]").join(",")}]`, 2)).toBe(false)
  })

  it("ignores brackets inside strings, escaped quotes included", () => {
    expect(nestsDeeperThan(JSON.stringify({ text: "[".repeat(1000) }), 2)).toBe(false)
    expect(nestsDeeperThan(JSON.stringify({ text: 'say \\"[[[[[\\" \\\\' }), 1)).toBe(false)
    expect(nestsDeeperThan(JSON.stringify({ a: '"]]]"', b: [[["x"]]] }), 3)).toBe(true)
  })

  it("answers 200,000 levels without recursion", () => {
    expect(nestsDeeperThan(nested(200_000), 64)).toBe(true)
    expect(nestsDeeperThan("{".repeat(200_000), 64)).toBe(true)
  })
})
