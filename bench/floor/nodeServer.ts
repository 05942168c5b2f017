/**
 * The pass-through floor of Node itself: a bare `node:http` server that reads the JSON body of
 * `POST /v1/chat/completions`, calls the upstream (bench/floor/upstreamCall.ts) and answers with its JSON.
 *
 *   node bench/floor/nodeServer.ts --upstream http://127.0.0.1:PORT/v1/chat/completions
 */
import { createServer, type ServerResponse } from "node:http"
import { parseArgs } from "node:util"
import { makeUpstreamCall } from "./upstreamCall.ts"

const { values } = parseArgs({ options: { upstream: { type: "string" } } })
const callUpstream = makeUpstreamCall(values.upstream!)

const send = (response: ServerResponse, status: number, json: unknown) => {
  const text = JSON.stringify(json)
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  response.end(text)
}

const server = createServer((request, response) => {
  if (request.method !== "POST" || request.url !== "/v1/chat/completions")
    return send(response, 404, { error: { message: "not found" } })
  const parts: Array<Buffer> = []
  request.on("data", (part: Buffer) => parts.push(part))
  request.on("end", () => {
    let body: unknown
    try {
      body = JSON.parse(Buffer.concat(parts).toString("utf8"))
    } catch {
      return send(response, 400, { error: { message: "invalid JSON" } })
    }
    // As Effect.tryPromise does for the Effect servers: a client that leaves aborts the upstream call.
    const controller = new AbortController()
    response.on("close", () => {
      if (!response.writableFinished) controller.abort()
    })
    callUpstream(body, controller.signal).then(
      (json) => send(response, 200, json),
      (error: unknown) => send(response, 502, { error: { message: String(error) } })
    )
  })
})

server.listen(0, "127.0.0.1", () => {
  const address = server.address()
  console.log(`Listening on http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`)
})
process.on("SIGTERM", () => process.exit(0))
