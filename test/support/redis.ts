/**
 * Redis helpers for tests. The shared Redis is only ever touched under a key prefix unique
 * to the run; a test that needs Redis to die or freeze starts its own redis-server.
 */
import { freePort, until } from "./ports.ts"
import { type ChildProcess, spawn } from "node:child_process"
import { Redis } from "ioredis"

export const uniquePrefix = (label: string) =>
  `test:${label}:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}:`

/** Deletes the keys under a prefix (never FLUSHDB: the server is shared). */
export const deleteKeys = async (client: Redis, prefix: string): Promise<void> => {
  let cursor = "0"
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
    if (keys.length > 0) await client.del(...keys)
    cursor = next
  } while (cursor !== "0")
}

const answersPing = async (url: string) => {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  probe.on("error", () => {})
  try {
    await probe.connect()
    return (await probe.ping()) === "PONG"
  } catch {
    return false
  } finally {
    probe.disconnect()
  }
}

/** A private redis-server this test may stop, freeze and restart. */
export interface OwnRedis {
  readonly url: string
  /** SIGKILL: the server is gone, connections drop. */
  readonly kill: () => Promise<void>
  /** Starts it again on the same port. */
  readonly start: () => Promise<void>
  /** SIGSTOP: connections stay open, nothing answers. */
  readonly freeze: () => void
  /** SIGCONT. */
  readonly thaw: () => void
  /** Kills it for good (resuming it first if frozen). */
  readonly dispose: () => Promise<void>
}

export const startOwnRedis = async (): Promise<OwnRedis> => {
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  let child: ChildProcess | undefined

  const start = async () => {
    const server = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no"], {
      stdio: "ignore"
    })
    child = server
    await until(() => answersPing(url), `redis-server on port ${port}`)
  }

  const kill = async () => {
    const server = child
    if (server === undefined || server.exitCode !== null) return
    const exited = new Promise((resolve) => server.once("exit", resolve))
    server.kill("SIGKILL")
    await exited
    child = undefined
  }

  await start()
  return {
    url,
    kill,
    start,
    freeze: () => child?.kill("SIGSTOP"),
    thaw: () => child?.kill("SIGCONT"),
    dispose: async () => {
      child?.kill("SIGCONT")
      await kill()
    }
  }
}

/** Deletes what a gateway configured with `env` wrote to Redis, if it used Redis. */
export const cleanUpAfter = async (env: { readonly [name: string]: string | undefined }): Promise<void> => {
  const url = env["REDIS_URL"]
  const prefix = env["RATE_LIMIT_KEY_PREFIX"]
  if (url === undefined || prefix === undefined) return
  const client = new Redis(url)
  try {
    await deleteKeys(client, prefix)
  } finally {
    client.disconnect()
  }
}
