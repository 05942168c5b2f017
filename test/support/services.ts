/**
 * The real PostgreSQL and Redis that integration tests talk to. On a developer machine
 * without them, those suites are skipped with a notice; in CI (REQUIRE_SERVICES=1) a
 * missing service fails the run instead of skipping silently.
 */
import { connect } from "node:net"

export const testDatabaseUrl = process.env["TEST_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"
export const testRedisUrl = process.env["TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379"

const reachable = (url: string): Promise<boolean> =>
  new Promise((resolve) => {
    const { hostname, port } = new URL(url)
    const socket = connect({ host: hostname, port: Number(port) })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
  })

const required = process.env["REQUIRE_SERVICES"] === "1"

const availability = async (name: string, url: string): Promise<boolean> => {
  const ok = await reachable(url)
  if (!ok && required) throw new Error(`${name} is required (REQUIRE_SERVICES=1) but ${url} is unreachable`)
  if (!ok) console.warn(`[tests] ${name} at ${url} is unreachable: its integration tests are skipped`)
  return ok
}

export const postgresAvailable = await availability("PostgreSQL", testDatabaseUrl)
export const redisAvailable = await availability("Redis", testRedisUrl)
