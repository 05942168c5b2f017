/**
 * A real HTTP server on loopback that plays one vendor's API: it records what it
 * receives, refuses what the real API refuses, and follows a script (answer, fail, stall,
 * cut). The vendor modules supply the protocol; this module runs it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo, Socket } from "node:net"
import type { Behaviour, Reply } from "./script.ts"

export interface ReceivedRequest {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: IncomingMessage["headers"]
  /** The parsed JSON body (undefined when there was none). */
  // biome-ignore lint: bodies are asserted on freely in tests
  readonly body: any
}

/** A response the protocol decided on (an error, a models list). */
export interface Answer {
  readonly status: number
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>>
}

export interface ChatCall {
  readonly stream: boolean
  /** Calls other than chat (embeddings): their answer to a scripted reply, in place of `Protocol.answer`. */
  readonly answer?: (request: ReceivedRequest, reply: Reply) => Answer
}

export interface Protocol {
  readonly name: string
  /** The request as the protocol reads it (e.g. snake_case fields in camelCase); `received` keeps it as sent. */
  readonly normalize?: (request: ReceivedRequest) => ReceivedRequest
  /** Authentication, routing and request checks: an Answer to send at once, or a chat call to perform. */
  readonly accept: (request: ReceivedRequest) => Answer | ChatCall
  readonly answer: (request: ReceivedRequest, reply: Reply) => Answer
  /** The SSE frames of a streamed answer, each a complete event. */
  readonly streamFrames: (request: ReceivedRequest, reply: Reply) => ReadonlyArray<string>
  readonly error: (status: number, message: string, type: string | undefined) => Answer
  readonly streamErrorFrame: (message: string, type: string | undefined) => string
  /** The answer given when nothing was scripted. */
  readonly defaultReply: (request: ReceivedRequest) => Reply
  readonly streamContentType?: string
  /** Stream framings other than SSE (Gemini's JSON array without alt=sse). */
  readonly streamBody?: (request: ReceivedRequest, reply: Reply) => string | undefined
}

export interface FakeUpstream {
  readonly url: string
  readonly received: Array<ReceivedRequest>
  /** Behaviours for the next requests, in order. */
  readonly script: (...behaviours: ReadonlyArray<Behaviour>) => void
  /** Connections the client closed before the fake finished answering. */
  readonly closedEarly: () => number
  /** Resolves once `count` connections in all were closed early. */
  readonly waitForEarlyClose: (count?: number) => Promise<void>
  readonly waitForRequests: (count: number) => Promise<void>
  readonly reset: () => void
  readonly close: () => Promise<void>
}

const readBody = (request: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    request.on("error", reject)
  })

const sendJson = (response: ServerResponse, answer: Answer, protocol: string) => {
  response.writeHead(answer.status, {
    "content-type": "application/json",
    ...(protocol === "anthropic" ? { "request-id": "req_fake" } : { "x-request-id": "req_fake" }),
    ...answer.headers
  })
  response.end(typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body))
}

export const startFake = async (protocol: Protocol): Promise<FakeUpstream> => {
  const received: Array<ReceivedRequest> = []
  const queue: Array<Behaviour> = []
  const sockets = new Set<Socket>()
  let closedEarly = 0
  const waiters: Array<() => void> = []
  const notify = () => waiters.splice(0).forEach((wake) => wake())

  const trickle = async (response: ServerResponse, frames: ReadonlyArray<string>) => {
    const bytes = Buffer.from(frames.join(""), "utf8")
    for (let at = 0; at < bytes.length; at += 3) {
      response.write(bytes.subarray(at, at + 3))
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  const stream = async (
    response: ServerResponse,
    frames: ReadonlyArray<string>,
    then: "end" | "stall" | "cut",
    slowly = false
  ) => {
    response.writeHead(200, {
      "content-type": protocol.streamContentType ?? "text/event-stream",
      "cache-control": "no-cache",
      ...(protocol.name === "anthropic" ? { "request-id": "req_fake" } : { "x-request-id": "req_fake" })
    })
    if (slowly) await trickle(response, frames)
    else for (const frame of frames) response.write(frame)
    if (then === "end") response.end()
    // A pause first, so that the client has read what was sent before the connection breaks.
    else if (then === "cut") setTimeout(() => response.socket?.destroy(), 50)
    // "stall": the response stays open until the client goes away
  }

  const perform = (request: ReceivedRequest, call: ChatCall, response: ServerResponse) => {
    const behaviour: Behaviour = queue.shift() ?? { kind: "reply", reply: protocol.defaultReply(request) }
    const replyOf = (reply: Reply | undefined) => reply ?? protocol.defaultReply(request)
    switch (behaviour.kind) {
      case "reply": {
        if (!call.stream) {
          return sendJson(response, (call.answer ?? protocol.answer)(request, behaviour.reply), protocol.name)
        }
        const body = protocol.streamBody?.(request, behaviour.reply)
        if (body !== undefined) {
          response.writeHead(200, { "content-type": "application/json" })
          return response.end(body)
        }
        return stream(response, protocol.streamFrames(request, behaviour.reply), "end", behaviour.trickle)
      }
      case "error": {
        const answer = protocol.error(behaviour.status, behaviour.message ?? "Scripted failure", behaviour.type)
        return sendJson(response, { ...answer, headers: { ...answer.headers, ...behaviour.headers } }, protocol.name)
      }
      case "raw":
        response.writeHead(behaviour.status, { "content-type": "application/json", ...behaviour.headers })
        return response.end(behaviour.body)
      case "stall":
        return
      case "stallAfter":
        return stream(
          response,
          protocol.streamFrames(request, replyOf(behaviour.reply)).slice(0, behaviour.events),
          "stall"
        )
      case "cut":
        return stream(
          response,
          protocol.streamFrames(request, replyOf(behaviour.reply)).slice(0, behaviour.afterEvents),
          "cut"
        )
      case "endEarly":
        return stream(
          response,
          protocol.streamFrames(request, replyOf(behaviour.reply)).slice(0, behaviour.afterEvents),
          "end"
        )
      case "streamError": {
        const frames = protocol.streamFrames(request, protocol.defaultReply(request)).slice(0, behaviour.afterEvents)
        return stream(response, [...frames, protocol.streamErrorFrame(behaviour.message, behaviour.type)], "end")
      }
    }
  }

  const server = createServer(async (incoming, response) => {
    response.on("close", () => {
      if (!response.writableFinished) {
        closedEarly++
        notify()
      }
    })
    const text = await readBody(incoming)
    const url = new URL(incoming.url ?? "/", "http://fake")
    let body: unknown
    try {
      body = text === "" ? undefined : JSON.parse(text)
    } catch {
      return sendJson(response, protocol.error(400, "The request body is not valid JSON", undefined), protocol.name)
    }
    const request: ReceivedRequest = {
      method: incoming.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      headers: incoming.headers,
      body
    }
    received.push(request)
    notify()
    const view = protocol.normalize?.(request) ?? request
    const decision = protocol.accept(view)
    if ("status" in decision) return sendJson(response, decision, protocol.name)
    perform(view, decision, response)
  })
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo

  const until = (done: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => (done() ? resolve() : waiters.push(check))
      check()
    })

  return {
    url: `http://127.0.0.1:${port}`,
    received,
    script: (...behaviours) => queue.push(...behaviours),
    closedEarly: () => closedEarly,
    waitForEarlyClose: (count = 1) => until(() => closedEarly >= count),
    waitForRequests: (count) => until(() => received.length >= count),
    reset: () => {
      received.length = 0
      queue.length = 0
      closedEarly = 0
    },
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
