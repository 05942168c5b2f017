/**
 * A fast fake OpenAI upstream for benchmarks (not the strict one of test/fakes, which
 * checks every field): `POST /v1/chat/completions` answers after a fixed latency, whole or
 * as an SSE stream of N content chunks a fixed interval apart, with a usage chunk when the
 * request asks for one. `GET /stats` tells how many completions it served, so the harness
 * can check that a gateway really reached it.
 *
 *   node bench/fakeUpstream.ts --port 0 --latency 50 --chunks 20 --chunk-interval 5
 *
 * Prints `listening <port>` once ready. Runs in its own process, so that its event loop
 * is not the load generator's.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { parseArgs } from "node:util"

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    latency: { type: "string", default: "50" },
    chunks: { type: "string", default: "20" },
    "chunk-interval": { type: "string", default: "5" }
  }
})
const latencyMs = Number(values.latency)
const chunkCount = Number(values.chunks)
const chunkIntervalMs = Number(values["chunk-interval"])

const created = Math.floor(Date.now() / 1000)
const usage = (completionTokens: number) => ({
  prompt_tokens: 12,
  completion_tokens: completionTokens,
  total_tokens: 12 + completionTokens
})

const completionBody = (model: string) =>
  JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion",
    created,
    model,
    system_fingerprint: "fp_bench",
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: "Hello from the benchmark upstream.", refusal: null },
        logprobs: null,
        finish_reason: "stop"
      }
    ],
    usage: usage(8)
  })

const chunkFrame = (model: string, choices: unknown, includeUsage: boolean, extra: object = {}) =>
  `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created, model, choices, ...(includeUsage && { usage: null }), ...extra })}\n\n`

const delta = (content: object, finish: string | null = null) => [
  { index: 0, delta: content, logprobs: null, finish_reason: finish }
]

let served = 0

const stream = (response: ServerResponse, model: string, includeUsage: boolean) => {
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
  // The role and the first token together, as OpenAI's first chunks arrive: the time to first token is the latency.
  response.write(chunkFrame(model, delta({ role: "assistant", content: "" }), includeUsage))
  let sent = 0
  const next = () => {
    if (response.socket === null || response.socket.destroyed) return
    if (sent < chunkCount) {
      response.write(chunkFrame(model, delta({ content: `tok${sent} ` }), includeUsage))
      sent++
      if (sent < chunkCount) return void setTimeout(next, chunkIntervalMs)
    }
    response.write(chunkFrame(model, delta({}, "stop"), includeUsage))
    if (includeUsage) response.write(chunkFrame(model, [], false, { usage: usage(chunkCount) }))
    response.end("data: [DONE]\n\n")
    served++
  }
  next()
}

const answer = (request: IncomingMessage, response: ServerResponse, body: string) => {
  let parsed: { model?: unknown; stream?: unknown; stream_options?: { include_usage?: unknown } }
  try {
    parsed = JSON.parse(body)
  } catch {
    response.writeHead(400, { "content-type": "application/json" })
    return void response.end(JSON.stringify({ error: { message: "invalid JSON", type: "invalid_request_error" } }))
  }
  const model = typeof parsed.model === "string" ? parsed.model : "unknown"
  setTimeout(() => {
    if (request.socket.destroyed) return
    if (parsed.stream === true) return stream(response, model, parsed.stream_options?.include_usage === true)
    const json = completionBody(model)
    response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(json) })
    response.end(json)
    served++
  }, latencyMs)
}

const server = createServer({ keepAliveTimeout: 60_000 }, (request, response) => {
  if (request.method === "GET" && request.url === "/stats") {
    response.writeHead(200, { "content-type": "application/json" })
    return void response.end(JSON.stringify({ served }))
  }
  if (request.method !== "POST" || !request.url?.endsWith("/chat/completions")) {
    response.writeHead(404, { "content-type": "application/json" })
    return void response.end(JSON.stringify({ error: { message: `no route ${request.url}`, type: "not_found" } }))
  }
  const parts: Array<Buffer> = []
  request.on("data", (part: Buffer) => parts.push(part))
  request.on("end", () => answer(request, response, Buffer.concat(parts).toString("utf8")))
})
server.headersTimeout = 0
server.requestTimeout = 0

server.listen(Number(values.port), "127.0.0.1", () => {
  const address = server.address()
  console.log(`listening ${typeof address === "object" && address !== null ? address.port : values.port}`)
})
process.on("SIGTERM", () => server.close(() => process.exit(0)))
