/**
 * A development gateway needs an HMAC secret without being told one, but no secret may be a constant anyone
 * can read in the source (they could mint admin tokens). So the first start draws 32 random bytes and keeps them
 * in DATA_DIR (owner-only file); later starts and `npm run token` read the same file. Production never gets
 * here: it refuses to start without a JWT_SECRET of at least 32 bytes.
 */
import * as Redacted from "effect/Redacted"
import { randomBytes } from "node:crypto"
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { GatewayConfigShape } from "./Config.ts"

export const developmentSecretFile = (dataDir: string): string => join(dataDir, "jwt-secret")

const minimumBytes = 32

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === "ENOENT"

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, "utf8").trim()
  } catch (error) {
    if (isMissing(error)) return undefined
    throw error
  }
}

/**
 * The secret kept in `dataDir`, created on first use. Written to a private temporary file and then linked into
 * place, so that processes starting together (cluster workers) all end up with the one that won.
 */
export const loadOrCreate = (dataDir: string): { readonly secret: string; readonly created: boolean } => {
  const file = developmentSecretFile(dataDir)
  const existing = read(file)
  if (existing !== undefined) {
    if (Buffer.byteLength(existing) < minimumBytes) {
      throw new Error(`${file}: holds fewer than ${minimumBytes} bytes; delete it to have a new secret generated`)
    }
    return { secret: existing, created: false }
  }
  mkdirSync(dataDir, { recursive: true })
  const secret = randomBytes(minimumBytes).toString("base64url")
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`
  writeFileSync(temporary, `${secret}\n`, { mode: 0o600, flag: "wx" })
  try {
    linkSync(temporary, file)
    return { secret, created: true }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    return { secret: read(file)!, created: false }
  } finally {
    unlinkSync(temporary)
  }
}

/** Whether the configuration still needs the development secret (HS* without JWT_SECRET, in development). */
export const needed = (config: GatewayConfigShape): boolean =>
  config.auth.secret === undefined &&
  config.server.environment === "development" &&
  config.auth.algorithms.some((algorithm) => algorithm.startsWith("HS"))

export const withSecret = (config: GatewayConfigShape, secret: string): GatewayConfigShape => ({
  ...config,
  auth: { ...config.auth, secret: Redacted.make(secret) }
})
