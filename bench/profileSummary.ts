/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): self time by package or source
 * folder, and the functions with the most self time. Frames of the build (`dist/`, where
 * every dependency is bundled in) are read back through its source maps to the file and
 * line they were built from.
 *
 *   node bench/profileSummary.ts bench/results/profiles/CPU.…cpuprofile [--top 30]
 */
import { existsSync, readFileSync } from "node:fs"
import { SourceMap } from "node:module"
import { parseArgs } from "node:util"

interface ProfileNode {
  readonly id: number
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
    readonly columnNumber: number
  }
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const { values, positionals } = parseArgs({
  options: { top: { type: "string", default: "30" } },
  allowPositionals: true
})
const profile: Profile = JSON.parse(readFileSync(positionals[0]!, "utf8"))
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const self = new Map<number, number>()
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
const total = [...self.values()].reduce((a, b) => a + b, 0)
// Percentages are of the busy time: a profile of a server at a fixed rate is mostly idle.
const idle = [...self].reduce(
  (sum, [id, time]) => (byId.get(id)!.callFrame.functionName === "(idle)" ? sum + time : sum),
  0
)
const busy = total - idle

/** `node_modules/<package>`, a folder of src/, or what V8 calls the frame (GC, idle, program). */
const groupOf = ({ url, functionName }: ProfileNode["callFrame"]) => {
  if (url === "") return `(${functionName.replace(/[()]/g, "")})`
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (dependency !== null) return dependency[1]!
  if (url.startsWith("node:")) return "node internals"
  const local = /\/(src|bench|test)\/(.*)\/[^/]+$/.exec(url)
  return local === null ? url : `${local[1]}/${local[2]}`
}

const sourceMaps = new Map<string, SourceMap | undefined>()
const sourceMapOf = (url: string): SourceMap | undefined => {
  if (!sourceMaps.has(url)) {
    const file = url.startsWith("file:") ? `${new URL(url).pathname}.map` : undefined
    sourceMaps.set(
      url,
      file !== undefined && existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, "utf8"))) : undefined
    )
  }
  return sourceMaps.get(url)
}
/** The frame as written in its source: a built chunk's position mapped back through the chunk's source map. */
const original = (frame: ProfileNode["callFrame"]): ProfileNode["callFrame"] => {
  const entry = sourceMapOf(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber)
  return entry === undefined || !("originalSource" in entry) || !entry.originalSource
    ? frame
    : { ...frame, url: new URL(entry.originalSource, frame.url).href, lineNumber: entry.originalLine }
}

const add = (map: Map<string, number>, key: string, value: number) => map.set(key, (map.get(key) ?? 0) + value)
const groups = new Map<string, number>()
const functions = new Map<string, number>()
for (const [id, time] of self) {
  const frame = original(byId.get(id)!.callFrame)
  add(groups, groupOf(frame), time)
  const file = frame.url.split("/").slice(-2).join("/")
  add(functions, `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`, time)
}

const print = (title: string, map: Map<string, number>, top: number) => {
  console.log(`\n${title}`)
  for (const [name, time] of [...map]
    .filter(([name]) => !name.startsWith("(idle)"))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)) {
    console.log(`${((time / busy) * 100).toFixed(1).padStart(5)}%  ${(time / 1000).toFixed(0).padStart(7)} ms  ${name}`)
  }
}
console.log(
  `${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (percentages below are of the busy time)`
)
print("Self time by package or folder", groups, 25)
print("Functions with the most self time", functions, Number(values.top))
