import { describe, expect, it } from "vitest"
import { ConfigInvalid, parseConfig } from "../../src/Config.ts"

const problemsOf = (env: Record<string, string>) => {
  const config = parseConfig(env, "test")
  return config instanceof ConfigInvalid ? config.problems : []
}

describe("WEB_CONCURRENCY", () => {
  it("defaults to one process, and reads a worker count", () => {
    const defaults = parseConfig({}, "test")
    const two = parseConfig({ WEB_CONCURRENCY: "2" }, "test")
    if (defaults instanceof ConfigInvalid || two instanceof ConfigInvalid) throw new Error("valid configs refused")
    expect(defaults.processes.webConcurrency).toBe(1)
    expect(two.processes.webConcurrency).toBe(2)
  })

  it.each(["0", "-1", "1.5", "many", "65"])("refuses WEB_CONCURRENCY=%s at start-up", (value) => {
    expect(problemsOf({ WEB_CONCURRENCY: value })).toEqual([
      expect.stringMatching(/^WEB_CONCURRENCY: expected an integer/)
    ])
  })
})
