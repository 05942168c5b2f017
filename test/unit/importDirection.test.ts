/**
 * Imports point one way (docs/architecture.md): http → services → providers, storage → domain. A lower layer
 * that imports a higher one drags the higher one's concerns (and module load) into everything below it.
 */
import { readFileSync } from "node:fs"
import { dirname, relative, resolve } from "node:path"
import ts from "typescript"
import { describe, expect, it } from "vitest"
import { sourceFiles } from "../support/sourceFiles.ts"

/** The project files a module imports (values, types, re-exports and dynamic imports alike), relative to the root. */
const importsOf = (file: string): Array<string> =>
  ts
    .preProcessFile(readFileSync(file, "utf8"), true, true)
    .importedFiles.map((imported) => imported.fileName)
    .filter((name) => name.startsWith("."))
    .map((name) => relative(".", resolve(dirname(file), name)))

/** Every import of the modules under `from` that reaches one of `forbidden`, as "importer → imported". */
const offending = (from: string, forbidden: ReadonlyArray<string>): Array<string> =>
  sourceFiles(from).flatMap((file) =>
    importsOf(file)
      .filter((target) => forbidden.some((prefix) => target === prefix || target.startsWith(`${prefix}/`)))
      .map((target) => `${file} → ${target}`)
  )

/** The composition root: nothing below it may import it. */
const root = ["src/App.ts", "src/Launch.ts", "src/main.ts"]

describe("import direction", () => {
  it("the scan sees every kind of import (the HTTP layer's own imports of services are found)", () => {
    expect(importsOf("src/http/Server.ts")).toContain("src/services/telemetry/Telemetry.ts")
    expect(offending("src/http", ["src/services"]).length).toBeGreaterThan(0)
  })

  it("services import nothing from the HTTP layer", () => {
    expect(offending("src/services", ["src/http", ...root])).toEqual([])
  })

  it("providers and storage import neither services nor the HTTP layer", () => {
    expect(offending("src/providers", ["src/http", "src/services", ...root])).toEqual([])
    expect(offending("src/storage", ["src/http", "src/services", ...root])).toEqual([])
  })

  it("the domain imports only the domain", () => {
    const outside = sourceFiles("src/domain").flatMap((file) =>
      importsOf(file)
        .filter((target) => !target.startsWith("src/domain/"))
        .map((target) => `${file} → ${target}`)
    )
    expect(outside).toEqual([])
  })
})
