// @ts-check
/**
 * The gateway's JSON API, called with the pasted token. The token lives in sessionStorage only (gone when the tab
 * closes) and is sent to this origin only. Amounts are kept as the decimal text the gateway wrote, never rounded
 * through a double.
 */

const storageKey = "gateway-dashboard-token"

export const session = {
  /** @returns {string | null} */
  get token() {
    return sessionStorage.getItem(storageKey)
  },
  /** @param {string} token */
  signIn(token) {
    sessionStorage.setItem(storageKey, token)
  },
  signOut() {
    sessionStorage.removeItem(storageKey)
  }
}

/**
 * The claims the dashboard reads from a token (for display and to choose views; the gateway decides what is
 * allowed). Undefined when the text is not a JWT.
 * @param {string} token
 * @returns {{ sub: string, role: string | undefined, exp: number | undefined } | undefined}
 */
export const claimsOf = (token) => {
  const parts = token.split(".")
  if (parts.length !== 3 || parts[1] === undefined) return undefined
  try {
    const json = atob(parts[1].replace(/-/g, "+").replace(/_/g, "/"))
    const claims = JSON.parse(json)
    if (typeof claims !== "object" || claims === null) return undefined
    return {
      sub: typeof claims.sub === "string" ? claims.sub : "(no subject)",
      role: typeof claims.role === "string" ? claims.role : undefined,
      exp: typeof claims.exp === "number" ? claims.exp : undefined
    }
  } catch {
    return undefined
  }
}

/** An answer that is not a success: its status and the gateway's message (`detail`). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   */
  constructor(status, message) {
    super(message)
    this.status = status
  }
}

/** Keys whose numbers are USD amounts: kept as the text the gateway wrote. */
const amountKeys = new Set(["balance", "available", "amount", "balance_after", "spend", "uncollected"])

/**
 * JSON.parse, with amounts as their exact decimal text (the reviver's source text access).
 * @param {string} text
 */
const parseExact = (text) =>
  JSON.parse(
    text,
    /** @this {unknown} @param {string} key @param {unknown} value @param {{ source?: string }} [context] */
    function (key, value, context) {
      return typeof value === "number" && amountKeys.has(key) && context?.source !== undefined ? context.source : value
    }
  )

/**
 * @typedef {{ name: string, quota: number, window: number, remaining: number | undefined, reset: number | undefined }} RateLimitState
 */

/** The limits named by the last authenticated answer's `RateLimit-Policy` and `RateLimit` headers. */
/** @type {{ latest: RateLimitState[], at: Date | undefined }} */
export const rateLimits = { latest: [], at: undefined }

/**
 * `"reads";q=300;w=60, "global";q=1000;w=3600` → name → parameters.
 * @param {string} header
 */
const structuredList = (header) => {
  /** @type {Map<string, Record<string, number>>} */
  const items = new Map()
  for (const match of header.matchAll(/"([^"]*)"((?:\s*;\s*[a-z]+=[0-9]+)*)/g)) {
    /** @type {Record<string, number>} */
    const parameters = {}
    for (const [, key, value] of (match[2] ?? "").matchAll(/([a-z]+)=([0-9]+)/g)) parameters[key ?? ""] = Number(value)
    items.set(match[1] ?? "", parameters)
  }
  return items
}

/** @param {Headers} headers */
const rememberRateLimits = (headers) => {
  const policy = headers.get("ratelimit-policy")
  if (policy === null) return
  const state = structuredList(headers.get("ratelimit") ?? "")
  rateLimits.latest = [...structuredList(policy)].map(([name, { q, w }]) => ({
    name,
    quota: q ?? 0,
    window: w ?? 0,
    remaining: state.get(name)?.r,
    reset: state.get(name)?.t
  }))
  rateLimits.at = new Date()
}

/** Called when the gateway refuses the token (401): the session is over. */
let onUnauthorized = /** @param {string} _detail */ (_detail) => {}

/** @param {(detail: string) => void} handler */
export const whenUnauthorized = (handler) => {
  onUnauthorized = handler
}

/**
 * Calls the API with the session's token (or `token`). A non-2xx answer throws an ApiError with the gateway's
 * message, unless its status is in `accept` (health answers 503 with a body worth showing).
 * @param {string} path
 * @param {{ method?: string, query?: Record<string, string | number | boolean | null | undefined>, body?: unknown, token?: string, accept?: number[], signOutOn401?: boolean }} [options]
 * @returns {Promise<any>}
 */
export const api = async (path, options = {}) => {
  const url = new URL(path, location.origin)
  for (const [key, value] of Object.entries(options.query ?? {}))
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, String(value))
  const token = options.token ?? session.token
  /** @type {Record<string, string>} */
  const headers = { accept: "application/json" }
  if (token !== null) headers.authorization = `Bearer ${token}`
  if (options.body !== undefined) headers["content-type"] = "application/json"
  let response
  try {
    response = await fetch(url, {
      method: options.method ?? "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body)
    })
  } catch (error) {
    throw new ApiError(0, `The gateway could not be reached (${error instanceof Error ? error.message : error}).`)
  }
  rememberRateLimits(response.headers)
  const text = await response.text()
  let body
  try {
    body = parseExact(text)
  } catch {
    body = undefined
  }
  if (response.ok || options.accept?.includes(response.status)) {
    if (body === undefined)
      throw new ApiError(response.status, `${url.pathname} answered with something that is not JSON.`)
    return body
  }
  const detail =
    typeof body?.detail === "string"
      ? body.detail
      : `${url.pathname} answered ${response.status} ${response.statusText}.`
  if (response.status === 401 && options.signOutOn401 !== false) onUnauthorized(detail)
  throw new ApiError(response.status, detail)
}
