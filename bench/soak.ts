/**
 * The soak: our gateway under a steady load for minutes, its resident memory sampled every
 * second. Growth is judged on the trend after the first segment (start-up and JIT warm-up
 * allocate), as a least-squares slope and as the difference of the first and last quarters.
 */
import { connectionsFor, runPlain } from "./load.ts"
import type { Server } from "./servers.ts"
import { round } from "./stats.ts"

const segmentSeconds = 10

const slopePerMinute = (points: ReadonlyArray<readonly [number, number]>) => {
  const n = points.length
  if (n < 2) return 0
  const mx = points.reduce((s, [x]) => s + x, 0) / n
  const my = points.reduce((s, [, y]) => s + y, 0) / n
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0)
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0)
  return sxx === 0 ? 0 : (sxy / sxx) * 60
}

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)]!
}

export const soak = async (
  server: Server,
  settings: { readonly soakSeconds: number; readonly soakRps: number; readonly latencyMs: number }
) => {
  const mb = () => server.child.rss() / 1024 / 1024
  const t0 = performance.now()
  const samples: Array<[seconds: number, rssMb: number]> = []
  const timer = setInterval(() => samples.push([(performance.now() - t0) / 1000, mb()]), 1000)
  const segments: Array<{ readonly p50: number; readonly p99: number; readonly rps: number; readonly errors: number }> =
    []
  const connections = connectionsFor(settings.soakRps, settings.latencyMs)
  try {
    const count = Math.max(1, Math.round(settings.soakSeconds / segmentSeconds))
    for (let i = 0; i < count; i++) {
      const run = await runPlain(server.target, { rps: settings.soakRps, connections, seconds: segmentSeconds })
      const latency = run.latency.summary()
      segments.push({
        p50: round(latency.p50),
        p99: round(latency.p99),
        rps: round(run.achievedRps, 0),
        errors: run.errors
      })
      console.error(`[bench] soak ${i + 1}/${count}: rss ${mb().toFixed(1)} MB, p99 ${latency.p99.toFixed(2)} ms`)
    }
  } finally {
    clearInterval(timer)
  }
  const settled = samples.filter(([t]) => t >= segmentSeconds)
  const quarter = Math.max(1, Math.floor(settled.length / 4))
  const first = median(settled.slice(0, quarter).map(([, y]) => y))
  const last = median(settled.slice(-quarter).map(([, y]) => y))
  return {
    summary: {
      seconds: settings.soakSeconds,
      rps: settings.soakRps,
      requests: segments.reduce((sum, s) => sum + s.rps * segmentSeconds, 0),
      errors: segments.reduce((sum, s) => sum + s.errors, 0),
      rssFirstQuarterMb: round(first, 1),
      rssLastQuarterMb: round(last, 1),
      rssPeakMb: round(Math.max(...samples.map(([, y]) => y)), 1),
      rssSlopeMbPerMinute: round(slopePerMinute(settled), 2)
    },
    segments,
    rssMb: samples.map(([t, y]) => [round(t, 1), round(y, 1)])
  }
}
