/**
 * A diagnostic preloaded into a gateway under test (`--node-options=--import=./bench/allocationSampler.ts`
 * with ALLOCATION_PROFILE=<file>; `npm run bench -- --allocations` does both): V8's sampling heap
 * profiler, keeping the samples of objects the garbage collector has already freed, so that the profile
 * shows everything a request allocates, not only what is still alive. The profile is rewritten to the
 * file every two seconds (it covers the process's whole life; start-up is a few MB of it).
 *
 * Summarise with `node bench/allocationSampler.ts <file> [--requests N] [--top 30]`: bytes allocated by
 * package or folder (the allocating frame), by function, and by the nearest frame of our own `src/`
 * on the allocating stack (what in the gateway caused the allocation); with --requests, per request.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { parseArgs } from "node:util"
import { type CallFrame, groupOf, isOurs, nameOf, original } from "./frames.ts"

interface SamplingNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly selfSize: number
  readonly children: ReadonlyArray<SamplingNode>
}
interface SamplingProfile {
  readonly head: SamplingNode
  readonly samples: ReadonlyArray<{ readonly size: number; readonly nodeId: number }>
}

const file = process.env["ALLOCATION_PROFILE"]

const record = async (path: string) => {
  const session = new Session()
  session.connect()
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 16384,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true
  })
  setInterval(() => {
    void session
      .post("HeapProfiler.getSamplingProfile")
      .then(({ profile }) => writeFileSync(path, JSON.stringify(profile)))
  }, 2000).unref()
}

const summarise = (profile: SamplingProfile, requests: number | undefined, top: number) => {
  const groups = new Map<string, number>()
  const functions = new Map<string, number>()
  const ours = new Map<string, number>()
  const add = (map: Map<string, number>, key: string, value: number) => map.set(key, (map.get(key) ?? 0) + value)
  let total = 0
  const walk = (node: SamplingNode, nearestOurs: string) => {
    const frame = original(node.callFrame)
    const here = isOurs(frame) ? nameOf(frame) : nearestOurs
    if (node.selfSize > 0) {
      total += node.selfSize
      add(groups, groupOf(frame), node.selfSize)
      add(functions, nameOf(frame), node.selfSize)
      add(ours, here, node.selfSize)
    }
    for (const child of node.children) walk(child, here)
  }
  walk(profile.head, "(no frame of src/ on the stack)")
  const unit = requests === undefined ? "MB" : "KB/request"
  const scaled = (bytes: number) =>
    requests === undefined ? (bytes / 1048576).toFixed(1) : (bytes / 1024 / requests).toFixed(2)
  console.log(`${scaled(total)} ${unit} allocated in all (sampled estimate)`)
  const print = (title: string, map: Map<string, number>) => {
    console.log(`\n${title}`)
    for (const [name, bytes] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top))
      console.log(`${((bytes / total) * 100).toFixed(1).padStart(5)}%  ${scaled(bytes).padStart(8)} ${unit}  ${name}`)
  }
  print("By package or folder (the allocating frame)", groups)
  print("By function (the allocating frame)", functions)
  print("By the nearest frame of src/ on the allocating stack", ours)
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    options: { requests: { type: "string" }, top: { type: "string", default: "30" } },
    allowPositionals: true
  })
  summarise(
    JSON.parse(readFileSync(positionals[0]!, "utf8")),
    values.requests === undefined ? undefined : Number(values.requests),
    Number(values.top)
  )
} else if (file !== undefined) {
  await record(file)
}
