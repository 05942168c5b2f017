/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): self time by package or source
 * folder, and the functions with the most self time (frames of the build read back through
 * its source maps: bench/frames.ts).
 *
 *   node bench/profileSummary.ts bench/results/profiles/CPU.…cpuprofile [--top 30]
 */
import { readFileSync } from "node:fs"
import { parseArgs } from "node:util"
import { type CallFrame, groupOf, nameOf, original } from "./frames.ts"

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
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

const add = (map: Map<string, number>, key: string, value: number) => map.set(key, (map.get(key) ?? 0) + value)
const groups = new Map<string, number>()
const functions = new Map<string, number>()
for (const [id, time] of self) {
  const frame = original(byId.get(id)!.callFrame)
  add(groups, groupOf(frame), time)
  add(functions, nameOf(frame), time)
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
