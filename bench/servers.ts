/**
 * The servers of a benchmark run: the fake upstream, the Portkey gateway in front of it,
 * and our gateway (as `node src/main.ts`, configured through its environment) on a fresh
 * database of the local PostgreSQL and a private key prefix of the local Redis.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { Reactivity } from "effect/reactivity"
import { SignJWT } from "jose"
import { execSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Redis } from "ioredis"
import { freshDatabase } from "../test/support/database.ts"
import { testRedisUrl } from "../test/support/services.ts"
import type { Target } from "./load.ts"
import { freePort } from "../test/support/ports.ts"
import { type Child, startChild, waitForHttp, waitForLine } from "./processes.ts"

const upstreamKey = "sk-bench-upstream"

export interface Upstream {
  readonly child: Child
  readonly baseUrl: string
  readonly target: Target
  /** Completions it has served so far. */
  readonly served: () => Promise<number>
}

export const startUpstream = async (options: {
  readonly latencyMs: number
  readonly chunks: number
  readonly chunkIntervalMs: number
}): Promise<Upstream> => {
  const child = startChild("fake upstream", [
    "bench/fakeUpstream.ts",
    "--latency",
    String(options.latencyMs),
    "--chunks",
    String(options.chunks),
    "--chunk-interval",
    String(options.chunkIntervalMs)
  ])
  const [, port] = await waitForLine(child, /listening (\d+)/)
  const origin = `http://127.0.0.1:${port}`
  return {
    child,
    baseUrl: `${origin}/v1`,
    target: {
      name: "direct",
      url: `${origin}/v1/chat/completions`,
      headers: () => ({ authorization: `Bearer ${upstreamKey}` })
    },
    served: async () => ((await (await fetch(`${origin}/stats`)).json()) as { served: number }).served
  }
}

export interface Server {
  readonly child: Child
  readonly target: Target
  readonly close: () => Promise<void>
}

export const startPortkey = async (upstream: Upstream, nodeOptions: ReadonlyArray<string> = []): Promise<Server> => {
  const port = await freePort()
  // It reads `--port=N` only (a separate `--port N` is ignored); headless: no UI, no console dashboard.
  const child = startChild(
    "portkey",
    ["node_modules/@portkey-ai/gateway/build/start-server.js", `--port=${port}`, "--headless"],
    { nodeOptions }
  )
  await waitForHttp(child, `http://127.0.0.1:${port}/`).catch(async (error: unknown) => {
    await child.stop()
    throw error
  })
  return {
    child,
    target: {
      name: "portkey",
      url: `http://127.0.0.1:${port}/v1/chat/completions`,
      headers: () => ({
        authorization: `Bearer ${upstreamKey}`,
        "x-portkey-provider": "openai",
        "x-portkey-custom-host": upstream.baseUrl
      })
    },
    close: () => child.stop()
  }
}

export interface GatewayOptions {
  readonly name: string
  /** Share rate limits through Redis (else in process). */
  readonly redis: boolean
  readonly users: number
  readonly workers: number
  /** Extra node flags, e.g. --cpu-prof. */
  readonly nodeOptions?: ReadonlyArray<string>
  /** Another checkout of the gateway to run instead of this one (before/after comparisons). */
  readonly root?: string
  /**
   * A diagnostic, never a recommendation: commits do not wait for the WAL flush
   * (`synchronous_commit = off` on the benchmark's database), to show what durable commits cost.
   */
  readonly asyncCommit?: boolean
  /** A file to which the gateway appends its heap spaces every second (bench/heapSampler.ts). */
  readonly heapSamples?: string
  /** A file to which the gateway writes its sampled allocations (bench/allocationSampler.ts). */
  readonly allocationProfile?: string
  /** More environment for the gateway (say, an OTLP endpoint for bench/stages.ts). */
  readonly env?: NodeJS.ProcessEnv
}

/**
 * How a checkout's `npm start` runs the gateway, so that it is measured as it is shipped: the node flags
 * (say, its heap sizing; every `--flag` between `node` and the entry point but the env file), the entry
 * point (the build's `dist/main.js`, or `src/main.ts` in checkouts from before the build), and the
 * `prestart` script that builds it, run once here before the gateway starts.
 */
const startScripts = (root: string) => {
  const scripts = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts ?? {}
  const start: Array<string> = (scripts.start ?? "").split(/\s+/)
  return {
    flags: start.filter((token) => token.startsWith("--") && !token.startsWith("--env-file")),
    entry: start.find((token) => /\.(ts|js)$/.test(token)) ?? "src/main.ts",
    prestart: scripts.prestart as string | undefined
  }
}

export const startFlags = (root: string): ReadonlyArray<string> => startScripts(root).flags

/** Sets a parameter on the benchmark's own database (never on the shared server). */
const alterDatabase = (url: string, setting: string) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.flatMap(PgClient.make({ url: Redacted.make(url), maxConnections: 1 }), (sql) =>
        sql.unsafe(`ALTER DATABASE ${new URL(url).pathname.slice(1)} SET ${setting}`)
      )
    ).pipe(Effect.provide(Reactivity.layer))
  )

const catalog = (directory: string) => {
  const file = join(directory, `bench-models-${process.pid}.json`)
  writeFileSync(
    file,
    JSON.stringify({
      models: [
        {
          id: "bench-model",
          provider: "openai",
          upstream_model: "gpt-bench",
          owned_by: "bench",
          input_price_per_1m: 0.15,
          output_price_per_1m: 0.6,
          max_output_tokens: 4096,
          context_window: 128000
        }
      ]
    })
  )
  return file
}

const signTokens = (secret: string, users: number, prefix: string) =>
  Promise.all(
    Array.from({ length: users }, (_, i) =>
      new SignJWT({})
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setSubject(`${prefix}user-${i}`)
        .setIssuedAt()
        .setExpirationTime("12h")
        .sign(new TextEncoder().encode(secret))
    )
  )

/** Deletes the rate-limit keys of a run (never FLUSHDB: the Redis is shared). */
const deleteKeys = async (prefix: string) => {
  const redis = new Redis(testRedisUrl, { lazyConnect: true })
  await redis.connect()
  let cursor = "0"
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
    cursor = next
    if (keys.length > 0) await redis.del(...keys)
  } while (cursor !== "0")
  redis.disconnect()
}

const preload = (script: string) => `--import=${new URL(script, import.meta.url).pathname}`

export const startGateway = async (upstream: Upstream, options: GatewayOptions): Promise<Server> => {
  const database = await freshDatabase(`bench_${options.name}`)
  if (options.asyncCommit === true) await alterDatabase(database.url, "synchronous_commit = off")
  const port = await freePort()
  const secret = randomBytes(32).toString("hex")
  const keyPrefix = `bench:${process.pid}:${options.name}:`
  const env: NodeJS.ProcessEnv = {
    PATH: process.env["PATH"],
    HOME: process.env["HOME"],
    PORT: String(port),
    HOST: "127.0.0.1",
    ENVIRONMENT: "production",
    LOG_LEVEL: "warn",
    WEB_CONCURRENCY: String(options.workers),
    JWT_SECRET: secret,
    METRICS_TOKEN: randomBytes(16).toString("hex"),
    JWT_ACCESS_TOKEN_EXPIRE_MINUTES: "720",
    DATABASE_URL: database.url,
    ...(options.redis && { REDIS_URL: testRedisUrl, RATE_LIMIT_KEY_PREFIX: keyPrefix }),
    // Under saturation the event loop lags; a 150 ms Redis timeout would then count as an outage.
    REDIS_COMMAND_TIMEOUT_MS: "2000",
    RATE_LIMIT_PER_USER_PER_MINUTE: "100000000",
    RATE_LIMIT_GLOBAL_PER_HOUR: "100000000",
    BILLING_INITIAL_BALANCE: "1000000000",
    MODELS_FILE: catalog(tmpdir()),
    SIMULATE_PROVIDERS: "false",
    OPENAI_API_KEY: upstreamKey,
    OPENAI_BASE_URL: upstream.baseUrl,
    ...(options.heapSamples !== undefined && { HEAP_SAMPLES: options.heapSamples }),
    ...(options.allocationProfile !== undefined && { ALLOCATION_PROFILE: options.allocationProfile }),
    ...options.env
  }
  const root = options.root ?? new URL("..", import.meta.url).pathname
  const start = startScripts(root)
  // Piped, so that a build that fails says why in the error thrown.
  if (start.prestart !== undefined) execSync(start.prestart, { cwd: root, stdio: "pipe", env: process.env })
  const child = startChild(`gateway (${options.name})`, [start.entry], {
    env,
    nodeOptions: [
      ...start.flags,
      ...(options.heapSamples === undefined ? [] : [preload("./heapSampler.ts")]),
      ...(options.allocationProfile === undefined ? [] : [preload("./allocationSampler.ts")]),
      ...(options.nodeOptions ?? [])
    ],
    ...(options.root !== undefined && { cwd: options.root })
  })
  const close = async () => {
    await child.stop()
    await database.drop()
    if (options.redis) await deleteKeys(keyPrefix)
  }
  try {
    await waitForHttp(child, `http://127.0.0.1:${port}/ready`)
  } catch (error) {
    await close()
    throw error
  }
  const tokens = await signTokens(secret, options.users, `${options.name}-`)
  return {
    child,
    target: {
      name: options.name,
      url: `http://127.0.0.1:${port}/v1/chat/completions`,
      headers: (connection) => ({ authorization: `Bearer ${tokens[connection % tokens.length]}` })
    },
    close
  }
}
