/**
 * Stack frames of V8's profiles (`--cpu-prof`, the sampling heap profiler), named and grouped for the
 * summaries: by package (`node_modules/<package>`), by folder of our own code, or by what V8 calls the frame
 * (GC, idle, program). Frames of the build (`dist/`, where every dependency is bundled in) are first read
 * back through its source maps to the file and line they were built from.
 */
import { existsSync, readFileSync } from "node:fs"
import { SourceMap } from "node:module"
import { fileURLToPath } from "node:url"

export interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
  readonly columnNumber: number
}

const sourceMaps = new Map<string, SourceMap | undefined>()
const sourceMapOf = (url: string): SourceMap | undefined => {
  if (!sourceMaps.has(url)) {
    const file = url.startsWith("file:") ? `${fileURLToPath(url)}.map` : undefined
    sourceMaps.set(
      url,
      file !== undefined && existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, "utf8"))) : undefined
    )
  }
  return sourceMaps.get(url)
}

/** The frame as written in its source: a built chunk's position mapped back through the chunk's source map. */
export const original = (frame: CallFrame): CallFrame => {
  const entry = sourceMapOf(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber)
  return entry === undefined || !("originalSource" in entry) || !entry.originalSource
    ? frame
    : { ...frame, url: new URL(entry.originalSource, frame.url).href, lineNumber: entry.originalLine }
}

/** `node_modules/<package>`, a folder of src/, or what V8 calls the frame (GC, idle, program). */
export const groupOf = ({ url, functionName }: CallFrame): string => {
  if (url === "") return `(${functionName.replace(/[()]/g, "") || "native"})`
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (dependency !== null) return dependency[1]!
  if (url.startsWith("node:")) return "node internals"
  const local = /\/(src|bench|test)\/(.*)\/[^/]+$/.exec(url)
  return local === null ? url : `${local[1]}/${local[2]}`
}

/** The function, its file's last two path segments and its line. */
export const nameOf = (frame: CallFrame): string =>
  `${frame.functionName || "(anonymous)"} ${frame.url.split("/").slice(-2).join("/")}:${frame.lineNumber + 1}`

/** A frame of our own code (src/), not of a dependency. */
export const isOurs = (frame: CallFrame): boolean => /\/src\//.test(frame.url) && !frame.url.includes("node_modules")
