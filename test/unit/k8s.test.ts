/** The Kubernetes examples agree with the gateway: known variables, real probe paths, a long enough grace period. */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { environmentVariables } from "../../src/Config.ts"

const read = (file: string) => readFileSync(new URL(`../../deploy/k8s/${file}`, import.meta.url), "utf8")

/** The keys of a manifest's `data:` or `stringData:` block (two-space indented `KEY: value` lines). */
const keysOf = (manifest: string, block: string): Array<string> => {
  const start = manifest.indexOf(`${block}:\n`)
  return manifest
    .slice(start)
    .split("\n")
    .slice(1)
    .filter((line) => /^ {2}[A-Z_]+:/.test(line))
    .map((line) => line.trim().split(":")[0]!)
}

const number = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1])

describe("deploy/k8s", () => {
  const deployment = read("deployment.yaml")
  const configMap = read("configmap.yaml")

  it("sets only variables the gateway reads", () => {
    const keys = [...keysOf(configMap, "data"), ...keysOf(read("secret.example.yaml"), "stringData")]
    expect(keys.length).toBeGreaterThan(10)
    for (const key of keys) expect(environmentVariables).toContain(key)
  })

  it("probes /live and /ready, and gives shutdown its whole deadline", () => {
    expect(deployment).toMatch(/livenessProbe:\n\s+httpGet: \{ path: \/live, port: http \}/)
    expect(deployment).toMatch(/readinessProbe:\n\s+httpGet: \{ path: \/ready, port: http \}/)
    // The readiness checks are bounded at 2 s; the probe must wait longer than that.
    expect(number(deployment, /readinessProbe:[\s\S]*?timeoutSeconds: (\d+)/)).toBeGreaterThan(2)
    const shutdown = number(configMap, /SHUTDOWN_TIMEOUT_SECONDS: "(\d+)"/)
    const preStop = number(deployment, /command: \["sleep", "(\d+)"\]/)
    const grace = number(deployment, /terminationGracePeriodSeconds: (\d+)/)
    expect(grace).toBeGreaterThanOrEqual(preStop + shutdown + 5)
  })

  it("scrapes /metrics on its own port, which the Service does not expose and only monitoring may reach", () => {
    const metricsPort = number(configMap, /METRICS_PORT: "(\d+)"/)
    expect(metricsPort).toBeGreaterThan(0)
    expect(number(deployment, /prometheus\.io\/port: "(\d+)"/)).toBe(metricsPort)
    expect(deployment).toContain(`{ name: metrics, containerPort: ${metricsPort} }`)
    expect(read("service.yaml")).not.toMatch(/metrics|9100/)
    const policy = read("networkpolicy.yaml")
    expect(policy).toMatch(/namespaceSelector:[\s\S]*monitoring[\s\S]*port: metrics/)
  })

  it("lists every manifest in the kustomization", () => {
    const kustomization = read("kustomization.yaml")
    for (const file of [
      "configmap.yaml",
      "deployment.yaml",
      "service.yaml",
      "hpa.yaml",
      "pdb.yaml",
      "networkpolicy.yaml"
    ]) {
      expect(kustomization).toContain(`- ${file}`)
    }
  })
})
