import type { ErrorAnswer, UpstreamHeaders } from "../../src/providers/upstreamErrors.ts"

/** An upstream error answer as UpstreamHttp hands it over: a JSON body (or stream event, without a status). */
export const errorAnswer = (status: number | undefined, body: unknown, headers: UpstreamHeaders = {}): ErrorAnswer => ({
  status,
  body,
  text: JSON.stringify(body),
  headers
})
