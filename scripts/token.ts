/**
 * Mints a development token signed with the gateway's JWT_SECRET (or, in development without one, the secret
 * the gateway generated in DATA_DIR; created here if the gateway has not started yet), honouring
 * JWT_ISSUER / JWT_AUDIENCE:
 *
 *   npm run token -- --sub user123 [--minutes 30] [--admin]
 */
import { Effect, Redacted } from "effect"
import { SignJWT } from "jose"
import { parseArgs } from "node:util"
import { loadConfig } from "../src/Config.ts"
import * as DevelopmentSecret from "../src/DevelopmentSecret.ts"

const { values } = parseArgs({
  options: {
    sub: { type: "string", default: "user123" },
    minutes: { type: "string", default: "30" },
    admin: { type: "boolean", default: false }
  }
})

const loaded = Effect.runSync(Effect.result(loadConfig("cli")))
if (loaded._tag === "Failure") {
  console.error(loaded.failure.message)
  process.exit(1)
}
const parsed = loaded.success
const config = DevelopmentSecret.needed(parsed)
  ? DevelopmentSecret.withSecret(parsed, DevelopmentSecret.loadOrCreate(parsed.storage.dataDir).secret)
  : parsed
const { auth } = config
const algorithm = auth.algorithms[0]
if (auth.secret === undefined || algorithm === undefined || !algorithm.startsWith("HS")) {
  console.error("npm run token mints HMAC (HS*) tokens only; JWT_ALGORITHMS names public-key algorithms.")
  process.exit(1)
}
const minutes = Number(values.minutes)
if (!Number.isFinite(minutes) || minutes <= 0) {
  console.error("--minutes must be a positive number")
  process.exit(1)
}

let jwt = new SignJWT({ ...(values.admin ? { role: "admin" } : {}) })
  .setProtectedHeader({ alg: algorithm, typ: "JWT" })
  .setSubject(values.sub)
  .setIssuedAt()
  .setExpirationTime(`${Math.round(minutes * 60)}s`)
if (auth.issuer !== undefined) jwt = jwt.setIssuer(auth.issuer)
if (auth.audience !== undefined) jwt = jwt.setAudience(auth.audience)

console.log(await jwt.sign(new TextEncoder().encode(Redacted.value(auth.secret))))
