import * as Context from "effect/Context"

/**
 * The id of the request being served: always the gateway's own, unique (`req_` and 32 hex digits). It names the
 * request in the ledger, the logs, traces and the `x-request-id` response header. A client's id never replaces
 * it: ids chosen by clients are neither unique nor trustworthy.
 */
export const RequestId = Context.Reference<string>("gateway/http/RequestId", { defaultValue: () => "" })

export const newRequestId = (): string => `req_${crypto.randomUUID().replaceAll("-", "")}`

/** What a client's correlation id may look like: short, and safe in headers, logs and label-free metrics. */
const correlationId = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * The client's own id for the request, for correlation only: `x-client-request-id` (as OpenAI names it), else
 * `x-request-id`. Kept beside the gateway's id in the request log, Langfuse and Sentry, and echoed back as
 * `x-client-request-id`; one that is too long or has other characters is ignored.
 */
export const clientRequestIdOf = (headers: Readonly<Record<string, string | undefined>>): string | undefined => {
  const given = headers["x-client-request-id"] ?? headers["x-request-id"]
  return given !== undefined && correlationId.test(given) ? given : undefined
}
