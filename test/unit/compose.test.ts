/** docker-compose.yml calls the real providers unless simulation is asked for, and scrapes metrics on their own port. */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { environmentVariables } from "../../src/Config.ts"

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), "utf8")

describe("docker-compose.yml", () => {
  const compose = read("docker-compose.yml")
  const gateway = compose.slice(compose.indexOf("  gateway:"), compose.indexOf("  postgres:"))
  const variables = [...gateway.matchAll(/^ {6}([A-Z_]+):/gm)].map((match) => match[1]!)

  it("runs production with real providers; simulation is opt-in", () => {
    expect(gateway).toContain("ENVIRONMENT: production")
    expect(gateway).toContain("SIMULATE_PROVIDERS: ${SIMULATE_PROVIDERS:-false}")
    expect(compose).toMatch(/SIMULATE_PROVIDERS=true docker compose up +# SIMULATED answers/)
  })

  it("sets only variables the gateway reads, and serves /metrics on a port Prometheus scrapes, unpublished", () => {
    for (const name of variables) expect(environmentVariables).toContain(name)
    const metricsPort = /METRICS_PORT: "(\d+)"/.exec(gateway)?.[1]
    expect(metricsPort).toBeDefined()
    expect(gateway).not.toContain(`${metricsPort}:${metricsPort}`)
    expect(read("deploy/prometheus.yml")).toContain(`gateway:${metricsPort}`)
  })
})
