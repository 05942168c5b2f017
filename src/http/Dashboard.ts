/**
 * The web dashboard (`/dashboard`): static files from `src/dashboard/`, read once when the server starts and
 * answered from memory. Plain ES modules the browser runs as they are: no build step, no CDN, nothing fetched
 * from elsewhere. The page calls the JSON API on the same origin with the token the user pastes, so it adds
 * no route to the API and no work to its requests.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import { createHash } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import * as Errors from "../domain/errors.ts"
import { projectFile } from "../ProjectFiles.ts"
import { errorResponse } from "./Errors.ts"
import * as RouteTemplates from "./Routes.ts"

export const path = "/dashboard"

const directory = projectFile("src/dashboard/")

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml"
}

/**
 * The page runs only its own scripts and styles and talks only to this origin: an injected script could not run
 * nor send the token elsewhere.
 */
const securityHeaders = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  // Revalidated on every load (a 304 when unchanged): a new gateway version is never mixed with cached files.
  "cache-control": "no-cache"
}

interface Asset {
  readonly etag: string
  readonly response: HttpServerResponse.HttpServerResponse
}

const extensionOf = (name: string): string => name.slice(name.lastIndexOf("."))

/** Every servable file of the dashboard's folder, by name; `index.html` also as the empty name. */
const readAssets = (): Map<string, Asset> => {
  const assets = new Map<string, Asset>()
  for (const name of readdirSync(directory)) {
    const contentType = contentTypes[extensionOf(name)]
    if (contentType === undefined) continue
    const body = readFileSync(new URL(name, directory))
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`
    const response = HttpServerResponse.uint8Array(body, { contentType, headers: { ...securityHeaders, etag } })
    assets.set(name, { etag, response })
  }
  const index = assets.get("index.html")
  if (index === undefined) throw new Error(`The dashboard's index.html is missing from ${directory.pathname}`)
  assets.set("", index)
  return assets
}

const notModified = (etag: string) => HttpServerResponse.empty({ status: 304, headers: { ...securityHeaders, etag } })

export const layer = Layer.unwrap(
  Effect.sync(() => {
    const assets = readAssets()
    const serve = (request: HttpServerRequest.HttpServerRequest) => {
      const name = RouteTemplates.pathOf(request.url).slice(path.length + 1)
      const asset = assets.get(name)
      if (asset === undefined)
        return Effect.succeed(
          errorResponse(
            new Errors.NotFound({ message: `Not found: ${request.method} ${path}/${Errors.quoted(name, 100)}` })
          )
        )
      return Effect.succeed(request.headers["if-none-match"] === asset.etag ? notModified(asset.etag) : asset.response)
    }
    // The wildcard answers `/dashboard` itself too.
    return HttpRouter.add("GET", `${path}/*`, serve)
  })
)
