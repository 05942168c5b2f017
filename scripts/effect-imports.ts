/**
 * Rewrites imports from Effect's barrels into one namespace import per module, so that a
 * process loads only the modules it uses:
 *
 *   import { Effect, type Scope, Array as Arr } from "effect"
 *   →  import * as Effect from "effect/Effect"
 *      import type * as Scope from "effect/Scope"
 *      import * as Arr from "effect/Array"
 *
 * and likewise for `effect/http`, `effect/http-api`, `effect/sql`, `effect/encoding`,
 * `effect/testing` and `effect/reactivity`. The index of `effect` alone loads every module of
 * the package (~27 MB of resident memory for the gateway, measured in BENCHMARKS.md).
 * Idempotent; prints the files it changed.
 *
 *   node scripts/effect-imports.ts src [more files or folders]
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const dist = new URL("../node_modules/effect/dist/", import.meta.url).pathname
const barrels: Record<string, string> = {
  effect: "",
  "effect/http": "http/",
  "effect/http-api": "http-api/",
  "effect/sql": "sql/",
  "effect/encoding": "encoding/",
  "effect/testing": "testing/",
  "effect/reactivity": "reactivity/"
}
/** What the index of `effect` exports besides modules: Function's helpers. */
const functionExports = new Set(["absurd", "cast", "flow", "hole", "identity", "pipe"])
const importPattern = /import\s+(type\s+)?\{([^}]*)\}\s+from\s+"(effect(?:\/[a-z-]+)?)"\n?/g

const rewrite = (text: string, file: string): string =>
  text.replace(importPattern, (whole, allType: string | undefined, names: string, barrel: string) => {
    const folder = barrels[barrel]
    if (folder === undefined) return whole
    const lines: Array<string> = []
    const functions: Array<string> = []
    for (const raw of names.split(",").map((part) => part.trim())) {
      if (raw === "") continue
      const isType = allType !== undefined || raw.startsWith("type ")
      const [name, alias = name] = raw
        .replace(/^type\s+/, "")
        .split(/\s+as\s+/)
        .map((part) => part.trim()) as [string, string?]
      if (barrel === "effect" && functionExports.has(name)) {
        functions.push(`${isType ? "type " : ""}${name === alias ? name : `${name} as ${alias}`}`)
        continue
      }
      const module = `${folder}${name}`
      if (!existsSync(`${dist}${module}.js`)) throw new Error(`${file}: no module effect/${module} for ${raw}`)
      lines.push(`import ${isType ? "type " : ""}* as ${alias} from "effect/${module}"\n`)
    }
    if (functions.length > 0) lines.push(`import { ${functions.join(", ")} } from "effect/Function"\n`)
    return lines.join("")
  })

const files = (path: string): Array<string> =>
  statSync(path).isDirectory()
    ? readdirSync(path).flatMap((entry) => files(join(path, entry)))
    : path.endsWith(".ts")
      ? [path]
      : []

for (const file of process.argv.slice(2).flatMap(files)) {
  const text = readFileSync(file, "utf8")
  const next = rewrite(text, file)
  if (next !== text) {
    writeFileSync(file, next)
    console.log(file)
  }
}
