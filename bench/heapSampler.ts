/**
 * A diagnostic preloaded into a gateway under test (`--node-options=--import=./bench/heapSampler.ts`
 * with HEAP_SAMPLES=<file>): every second it appends the process's resident memory and V8's heap
 * spaces (size reserved and used) to the file as one JSON line, to show where the memory goes.
 * Summarise with `node bench/heapSampler.ts <file>`.
 */
import { appendFileSync, readFileSync } from "node:fs"
import { getHeapSpaceStatistics } from "node:v8"

const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10

const sample = () => {
  const memory = process.memoryUsage()
  return {
    at: Date.now(),
    rss: mb(memory.rss),
    external: mb(memory.external),
    arrayBuffers: mb(memory.arrayBuffers),
    spaces: Object.fromEntries(
      getHeapSpaceStatistics().map((space) => [space.space_name, [mb(space.space_size), mb(space.space_used_size)]])
    )
  }
}

const file = process.env["HEAP_SAMPLES"]
if (import.meta.main) {
  // Summary: the sample with the highest RSS, space by space (reserved / used, MB).
  const samples = readFileSync(process.argv[2]!, "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line))
  const peak = samples.reduce((a, b) => (b.rss > a.rss ? b : a))
  console.log(
    `${samples.length} samples; peak RSS ${peak.rss} MB (external ${peak.external}, array buffers ${peak.arrayBuffers})`
  )
  let heap = 0
  for (const [name, [size, used]] of Object.entries(peak.spaces as Record<string, [number, number]>)) {
    heap += size
    console.log(`  ${name.padEnd(28)} ${String(size).padStart(7)} reserved ${String(used).padStart(7)} used`)
  }
  console.log(
    `  V8 heap reserved ${Math.round(heap)} MB; the rest of RSS (code, stacks, native allocations) ${Math.round(peak.rss - heap)} MB`
  )
} else if (file !== undefined) {
  setInterval(() => appendFileSync(file, JSON.stringify(sample()) + "\n"), 1000).unref()
}
