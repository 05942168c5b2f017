/**
 * A local HTTP endpoint that records what it is sent: it stands in for an OTLP/HTTP
 * collector, Langfuse's ingestion API or Sentry's envelope endpoint in tests.
 */
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"

export interface Received {
  readonly method: string
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
}

export interface Receiver {
  readonly url: string
  readonly received: Array<Received>
  /** The answer to the next requests: a status, or "hang" to never answer. */
  answer: number | "hang"
  readonly close: () => Promise<void>
}

export const startReceiver = async (status = 200): Promise<Receiver> => {
  const received: Array<Received> = []
  const receiver: { answer: number | "hang" } = { answer: status }
  const server = createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      received.push({
        method: request.method ?? "",
        path: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks)
      })
      if (receiver.answer === "hang") return
      response.writeHead(receiver.answer, { "content-type": "application/json" })
      response.end("{}")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  })
}
