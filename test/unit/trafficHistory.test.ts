import { describe, expect, it } from "vitest"
import { minutes, TrafficHistory } from "../../src/services/telemetry/TrafficHistory.ts"

const minute = 60_000
/** 2026-12-01T10:00:00Z, a minute boundary. */
const ten = Date.UTC(2026, 11, 1, 10, 0, 0)

const plain = { failedMidway: false, model: undefined, upstreamMs: 0, overheadMs: undefined }
const chatRequest = (model: string, overheadMs: number, upstreamMs: number, status = 200) => ({
  status,
  failedMidway: false,
  model,
  upstreamMs,
  overheadMs
})

describe("the traffic history", () => {
  it("answers the last 60 minutes, oldest first, zeros where nothing happened", () => {
    const history = new TrafficHistory()
    const report = history.minutes(ten + 30_000)
    expect(report).toHaveLength(minutes)
    expect(report[0]!.start).toBe("2026-12-01T09:01:00.000Z")
    expect(report.at(-1)!.start).toBe("2026-12-01T10:00:00.000Z")
    expect(report.every((entry) => entry.requests === 0 && entry.overhead_ms_avg === null)).toBe(true)
  })

  it("counts requests, server errors, client errors and chat overhead in the minute they finished", () => {
    const history = new TrafficHistory()
    history.add(ten + 1_000, { ...plain, status: 200 })
    history.add(ten + 2_000, { ...plain, status: 429 })
    history.add(ten + 3_000, chatRequest("gpt-4", 2, 100))
    history.add(ten + 4_000, chatRequest("gpt-4", 4, 300, 503))
    history.add(ten + 5_000, { ...chatRequest("claude-3", 3, 50), failedMidway: true })
    history.add(ten + minute, chatRequest("gpt-4", 1, 10))

    const report = history.minutes(ten + minute + 5_000)
    expect(report.at(-2)).toEqual({
      start: "2026-12-01T10:00:00.000Z",
      requests: 5,
      errors: 2,
      client_errors: 1,
      chat_requests: 3,
      overhead_ms_avg: 3,
      overhead_ms_max: 4
    })
    expect(report.at(-1)).toMatchObject({ requests: 1, errors: 0, chat_requests: 1, overhead_ms_avg: 1 })
    expect(history.models(ten + minute + 5_000)).toEqual([
      { model: "claude-3", requests: 1, errors: 1, upstream_ms_avg: 50, recent_attempts: 0, recent_failures: 0 },
      { model: "gpt-4", requests: 3, errors: 1, upstream_ms_avg: 136.67, recent_attempts: 0, recent_failures: 0 }
    ])
  })

  it("forgets a minute an hour later, when its slot is reused or it falls out of the window", () => {
    const history = new TrafficHistory()
    history.add(ten, chatRequest("gpt-4", 2, 100))
    history.add(ten + 59 * minute, { ...plain, status: 200 })
    expect(history.minutes(ten + 59 * minute)[0]).toMatchObject({ start: "2026-12-01T10:00:00.000Z", requests: 1 })
    // An hour on, nothing was added to 10:00's slot, yet 10:00 is no longer in the window.
    expect(history.minutes(ten + 60 * minute).reduce((sum, entry) => sum + entry.requests, 0)).toBe(1)
    expect(history.models(ten + 60 * minute)).toEqual([])
    // The slot is reused by 11:00: it starts from zero.
    history.add(ten + 60 * minute, { ...plain, status: 500 })
    expect(history.minutes(ten + 60 * minute).at(-1)).toMatchObject({ requests: 1, errors: 1, chat_requests: 0 })
  })
})
