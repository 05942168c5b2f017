/**
 * Builds what `npm start` and the image run: `dist/main.js` and the chunks it loads, bundled from
 * `src/main.ts` with the dependencies it imports, comments and unused code left out.
 *
 * Why: a process that loads the sources keeps every module's text in memory (Effect's alone is 7.8 MB,
 * mostly documentation comments, over 245 modules), compiles them through Node's type stripping (a
 * WebAssembly build of swc that stays loaded) and keeps V8's record of each of its ~770 modules; the
 * bundle starts with about 45 MB less resident memory (BENCHMARKS.md). Names are kept (no mangling), so
 * stack traces and profiles read as the sources do; `node --enable-source-maps dist/main.js` maps them to
 * `src/` lines.
 *
 * Left to be loaded from node_modules at run time: what loads only when configured (Sentry, OpenTelemetry's
 * SDK and exporter, the embedded PostgreSQL with its WebAssembly files), and the tokenizer's encodings, which
 * `src/domain/tokens/bpe.ts` requires on first use. `@effect/opentelemetry` is bundled (as a chunk loaded
 * when tracing is configured): loaded from node_modules it would bring a second copy of Effect.
 *
 *   node scripts/build.ts [--out dist]
 */
import { existsSync, renameSync, rmSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { build } from "rolldown"

const { values } = parseArgs({ options: { out: { type: "string", default: "dist" } } })
const root = new URL("../", import.meta.url)
// src/ProjectFiles.ts addresses the project's files from one folder below its root: so is the build. The folder
// is replaced whole, so only a build's own name is accepted (never src, migrations, node_modules).
if (!/^dist[\w.-]*$/.test(values.out))
  throw new Error(`--out names a folder dist… of the project's root, not ${values.out}`)
const out = new URL(`${values.out}/`, root)
// Built beside the folder and swapped in by renames, so that a gateway already running from it (a second
// `npm start`, a benchmark's second gateway) never finds a chunk half-written, nor, when the sources are
// unchanged (chunk names carry a hash of their content), missing.
const staging = new URL(`${values.out}.building-${process.pid}/`, root)
const retired = new URL(`${values.out}.retired-${process.pid}/`, root)

rmSync(staging, { recursive: true, force: true })
const started = performance.now()
const output = await build({
  input: fileURLToPath(new URL("src/main.ts", root)),
  platform: "node",
  external: [/^@sentry\//, /^@opentelemetry\//, /^@electric-sql\//],
  logLevel: "warn",
  output: {
    dir: fileURLToPath(staging),
    format: "esm",
    sourcemap: true,
    comments: false,
    minify: { compress: false, mangle: false, codegen: { removeWhitespace: true } }
  }
})
if (existsSync(out)) renameSync(out, retired)
renameSync(staging, out)
rmSync(retired, { recursive: true, force: true })
const bytes = output.output.reduce((sum, file) => sum + (file.type === "chunk" ? file.code.length : 0), 0)
console.log(
  `Built ${values.out}/main.js: ${output.output.filter((file) => file.type === "chunk").length} chunks, ` +
    `${(bytes / 1048576).toFixed(1)} MB, in ${((performance.now() - started) / 1000).toFixed(1)} s`
)
