import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { relative } from "node:path"
import { describe, expect, it } from "vitest"
import { sourceFiles } from "../support/sourceFiles.ts"

describe("modules", () => {
  it("every source module loads on the project's Node, outside the test bundler", () => {
    // main.ts starts the server; everything else must import without side effects failing.
    const modules = sourceFiles("src").filter((file) => !file.endsWith("main.ts"))
    const script = modules.map((file) => `await import(${JSON.stringify("./" + relative(".", file))})`).join("\n")
    const output = execFileSync(process.execPath, ["--input-type=module", "-e", `${script}\nconsole.log("loaded")`], {
      encoding: "utf8"
    })
    expect(process.versions.node.split(".")[0]).toBe("24")
    expect(output.trim()).toBe("loaded")
  })

  it("import Effect by module path, never through a barrel that loads every module (scripts/effect-imports.ts fixes it)", () => {
    const barrel = /from "effect(\/(http|http-api|sql|encoding|testing|reactivity))?"/
    const offenders = sourceFiles("src").filter((file) => barrel.test(readFileSync(file, "utf8")))
    expect(offenders).toEqual([])
  })
})
