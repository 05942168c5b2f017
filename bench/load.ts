/**
 * The load: plain requests from autocannon at a fixed overall rate over a fixed set of
 * connections, and streams from a small open-loop client of our own (autocannon cannot
 * see the first token). Latencies are recorded per response at microsecond resolution
 * (autocannon's own histogram rounds to whole milliseconds).
 */
import autocannon, { type Client, type Result } from "autocannon"
import { Agent, request } from "node:http"
import { Samples } from "./stats.ts"

/** One server under test, as the load generator addresses it. */
export interface Target {
  readonly name: string
  /** The chat completions URL. */
  readonly url: string
  /** Headers of the requests of one connection (say, one user's token per connection). */
  readonly headers: (connection: number) => Record<string, string>
}

export interface PlainRun {
  readonly offeredRps: number
  readonly achievedRps: number
  readonly connections: number
  readonly latency: Samples
  readonly errors: number
  readonly statusCodes: Record<string, number>
}

const body = (stream: boolean) =>
  JSON.stringify({
    model: "bench-model",
    messages: [{ role: "user", content: "Say hello to the benchmark." }],
    max_tokens: 64,
    ...(stream && { stream: true, stream_options: { include_usage: true } })
  })

/**
 * autocannon limits a rate per connection per wall-clock second: each connection sends
 * its quota back to back, then waits for the next second. Several instances started a
 * fraction of a second apart spread those pauses, so the offered load stays even.
 */
const instances = 4

/**
 * Enough connections to carry `rps` closed-loop even when a gateway adds 25 ms to the
 * upstream's `latencyMs`; every target at a rate gets the same count.
 */
export const connectionsFor = (rps: number, latencyMs: number) =>
  Math.max(instances, Math.ceil((rps * (latencyMs + 25) * 1.2) / 1000))

export const runPlain = async (
  target: Target,
  options: { readonly rps: number; readonly connections: number; readonly seconds: number }
): Promise<PlainRun> => {
  const latency = new Samples()
  const statusCodes: Record<string, number> = {}
  let connectionIndex = 0
  const runs = Array.from({ length: instances }, (_, i) => {
    const share = (total: number) => Math.floor(total / instances) + (i < total % instances ? 1 : 0)
    return new Promise<Result>((resolve, reject) => {
      setTimeout(
        () => {
          const instance = autocannon(
            {
              url: target.url,
              method: "POST",
              body: body(false),
              headers: { "content-type": "application/json" },
              connections: share(options.connections),
              overallRate: share(options.rps),
              duration: options.seconds,
              timeout: 10,
              setupClient: (client: Client) => {
                client.setHeaders({ "content-type": "application/json", ...target.headers(connectionIndex++) })
              }
            },
            (error, result) => (error === null ? resolve(result) : reject(error))
          )
          instance.on("response", (_client, status, _bytes, ms) => {
            statusCodes[status] = (statusCodes[status] ?? 0) + 1
            if (status >= 200 && status < 300) latency.add(ms)
          })
        },
        (i * 1000) / instances
      )
    })
  })
  const results = await Promise.all(runs)
  const errors = results.reduce((sum, r) => sum + r.errors + r.non2xx, 0)
  return {
    offeredRps: options.rps,
    // Each instance runs for `seconds`; their staggered starts and ends do not count as idle time.
    achievedRps: latency.count / options.seconds,
    connections: options.connections,
    latency,
    errors,
    statusCodes
  }
}

export interface StreamRun {
  readonly offeredRps: number
  readonly achievedRps: number
  /** Until the first content token. */
  readonly ttft: Samples
  /** Until the end of the stream. */
  readonly total: Samples
  readonly errors: number
  readonly firstError: string | undefined
}

/**
 * Opens `rps` streams a second, evenly spaced (open loop: a slow server does not slow the
 * offered load), for `seconds`. A stream counts as good when it answers 200, carries every
 * content chunk and ends with [DONE].
 */
export const runStreams = (
  target: Target,
  options: { readonly rps: number; readonly seconds: number; readonly chunks: number; readonly users: number }
): Promise<StreamRun> =>
  new Promise((resolve) => {
    const agent = new Agent({ keepAlive: true, maxSockets: Infinity })
    const ttft = new Samples()
    const total = new Samples()
    const payload = body(true)
    const count = Math.round(options.rps * options.seconds)
    const interval = 1000 / options.rps
    let started = 0
    let finished = 0
    let errors = 0
    let firstError: string | undefined
    const t0 = performance.now()

    const fail = (reason: string) => {
      errors++
      firstError ??= reason
    }
    const settle = () => {
      if (++finished < count) return
      agent.destroy()
      resolve({
        offeredRps: options.rps,
        achievedRps: total.count / ((performance.now() - t0) / 1000),
        ttft,
        total,
        errors,
        firstError
      })
    }

    const open = (n: number) => {
      const begin = performance.now()
      let text = ""
      let firstToken = -1
      let over = false
      const end = (outcome: () => void) => {
        if (over) return
        over = true
        outcome()
        settle()
      }
      const req = request(
        target.url,
        {
          method: "POST",
          agent,
          headers: { "content-type": "application/json", ...target.headers(n % options.users) }
        },
        (response) => {
          response.setEncoding("utf8")
          response.on("data", (data: string) => {
            text += data
            if (firstToken < 0 && text.includes("tok0")) firstToken = performance.now() - begin
          })
          response.on("end", () =>
            end(() => {
              const elapsed = performance.now() - begin
              const tokens = text.split('"tok').length - 1
              if (response.statusCode !== 200) fail(`status ${response.statusCode}: ${text.slice(0, 300)}`)
              else if (tokens !== options.chunks || !text.trimEnd().endsWith("data: [DONE]"))
                fail(`incomplete stream (${tokens} of ${options.chunks} chunks): ${text.slice(-300)}`)
              else {
                ttft.add(firstToken)
                total.add(elapsed)
              }
            })
          )
          response.on("error", (error) => end(() => fail(String(error))))
        }
      )
      req.setTimeout(30_000, () => req.destroy(new Error("timed out")))
      req.on("error", (error) => end(() => fail(String(error))))
      req.end(payload)
    }

    const tick = () => {
      const due = Math.min(count, Math.floor((performance.now() - t0) / interval) + 1)
      while (started < due) open(started++)
      if (started < count) setTimeout(tick, Math.max(0, t0 + started * interval - performance.now()))
    }
    tick()
  })
