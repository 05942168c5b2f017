import { describe, expect, it } from "vitest"
import { ConfigInvalid } from "../../src/Config.ts"
import { configOf } from "../support/config.ts"

const problemsOf = (env: Record<string, string>) => {
  const config = configOf(env, "test")
  return config instanceof ConfigInvalid ? config.problems : []
}

describe("WEB_CONCURRENCY", () => {
  it("defaults to one process, and reads a worker count", () => {
    const defaults = configOf({}, "test")
    const two = configOf({ WEB_CONCURRENCY: "2", DATABASE_URL: "postgres://db/gateway" }, "test")
    if (defaults instanceof ConfigInvalid || two instanceof ConfigInvalid) throw new Error("valid configs refused")
    expect(defaults.processes.webConcurrency).toBe(1)
    expect(two.processes.webConcurrency).toBe(2)
  })

  it.each(["0", "-1", "1.5", "many", "65"])("refuses WEB_CONCURRENCY=%s at start-up", (value) => {
    expect(problemsOf({ WEB_CONCURRENCY: value })).toEqual([
      expect.stringMatching(/^WEB_CONCURRENCY: expected an integer/)
    ])
  })

  it("refuses several workers on the embedded database, saying what to do", () => {
    expect(problemsOf({ WEB_CONCURRENCY: "2" })).toEqual([
      "WEB_CONCURRENCY: the embedded database (no DATABASE_URL) serves one process only; set DATABASE_URL to a " +
        "PostgreSQL server that every worker shares, or WEB_CONCURRENCY=1"
    ])
  })
})
