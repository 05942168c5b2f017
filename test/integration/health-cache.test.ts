/**
 * The health endpoints are public and unlimited, so they cannot be allowed to load the database: concurrent callers
 * share one check, and its answer is reused for HEALTH_CACHE_SECONDS. Counted through /health/history, which
 * records each check that really ran.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startGateway, type TestGateway } from "../support/gateway.ts"
import { json } from "../support/json.ts"

let gateway: TestGateway
beforeAll(async () => {
  // Long enough that every call of the test falls within one interval, however slow the machine.
  gateway = await startGateway({ HEALTH_CACHE_SECONDS: "60" })
})
afterAll(() => gateway.close())

const checksRun = async (name: string): Promise<number> => {
  const { history } = await json(await fetch(`${gateway.url}/health/history`))
  return history.filter((entry: { name: string }) => entry.name === name).length
}

const burst = (path: string, calls: number) =>
  Promise.all(
    Array.from({ length: calls }, () =>
      fetch(`${gateway.url}${path}`).then(async (response) => {
        expect(response.status).toBe(200)
        return json(response)
      })
    )
  )

describe("health checks under load", () => {
  it("run once for 60 concurrent /health/detailed calls, and not again within HEALTH_CACHE_SECONDS", async () => {
    const before = { database: await checksRun("database"), redis: await checksRun("redis") }
    const answers = await burst("/health/detailed", 60)
    expect(await checksRun("database")).toBe(before.database + 1)
    expect(await checksRun("redis")).toBe(before.redis + 1)
    // Everyone got the one answer.
    expect(new Set(answers.map((answer) => answer.components.database.duration_ms)).size).toBe(1)

    await burst("/health/detailed", 20)
    await burst("/ready", 20)
    expect(await checksRun("database")).toBe(before.database + 2)
  })

  it("share the system check too", async () => {
    const before = await checksRun("system")
    await burst("/health/system", 30)
    expect(await checksRun("system")).toBe(before + 1)
  })
})
