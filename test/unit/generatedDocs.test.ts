import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { generatedPaths, render } from "../../scripts/generate-docs.ts"

describe("generated documentation", () => {
  it.each(generatedPaths)("%s matches the code it is generated from (npm run docs:generate)", async (path) => {
    expect(readFileSync(new URL(`../../${path}`, import.meta.url), "utf8")).toBe(await render(path))
  })
})
