/**
 * The route templates of the gateway, for telling 405 from 404 and for labelling metrics:
 * a metric is labelled by the template (`/v1/models/:id`), never by the raw path.
 */
import { Api } from "./Api.ts"

const extraRoutes = [
  { method: "GET", path: "/openapi.json" },
  { method: "GET", path: "/docs" },
  { method: "GET", path: "/dashboard" },
  { method: "GET", path: "/dashboard/:file" }
]

const all = [
  ...Object.values(Api.groups).flatMap((group) =>
    Object.values(group.endpoints).map((endpoint) => ({ method: endpoint.method, path: endpoint.path as string }))
  ),
  ...extraRoutes
]

/** Every template, in declaration order. */
export const templates: ReadonlyArray<string> = Array.from(new Set(all.map((route) => route.path)))

/** Templates without parameters are looked up; the few with parameters are matched. */
const staticTemplates = new Set(templates.filter((path) => !path.includes(":")))
const parameterized = templates
  .filter((path) => path.includes(":"))
  .map((path) => ({ path, pattern: new RegExp(`^${path.replace(/:[^/]+/g, "[^/]+")}$`) }))

const methodsByTemplate = new Map<string, Array<string>>()
for (const { method, path } of all) methodsByTemplate.set(path, [...(methodsByTemplate.get(path) ?? []), method])

/** The label of requests that match no route. */
export const unmatched = "unmatched"

/** The path of a request URL without query string and trailing slash. */
export const pathOf = (url: string): string => {
  const query = url.indexOf("?")
  const path = query === -1 ? url : url.slice(0, query)
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path
}

/** The template a request URL belongs to, or `unmatched`. */
export const templateOf = (url: string): string => {
  const path = pathOf(url)
  if (staticTemplates.has(path)) return path
  for (const route of parameterized) if (route.pattern.test(path)) return route.path
  return unmatched
}

/**
 * Paths of Anthropic's Messages API (`/v1/messages` and below, matched or not: the SDK's batches too) answer in
 * Anthropic's format (`messages/errors.ts`), whatever fails.
 */
export const isMessagesPath = (url: string): boolean => {
  const path = pathOf(url)
  return path === "/v1/messages" || path.startsWith("/v1/messages/")
}

/** The methods a route template accepts (empty for `unmatched`). */
export const methodsOf = (template: string): ReadonlyArray<string> => methodsByTemplate.get(template) ?? []
