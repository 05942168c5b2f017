/**
 * A client that stops reading a stream, through real HTTP: a raw TCP client asks for a long
 * streamed answer and stops reading after its first event. Once the gateway's writes have
 * stalled for CLIENT_WRITE_TIMEOUT_SECONDS it ends the stream: the upstream request is
 * aborted (the fake sees its connection close before it finished answering), the client's
 * connection is closed without [DONE], the hold is settled on what was metered, and the
 * stall is counted.
 */
import { connect, type Socket } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { FakeUpstream } from "../fakes/FakeUpstream.ts"
import { startOpenAIFake } from "../fakes/openai.ts"
import { client, usd } from "../support/billingClient.ts"
import { startGateway, type TestGateway, token } from "../support/gateway.ts"
import { until } from "../support/ports.ts"
import { sample } from "../support/prometheus.ts"

let upstream: FakeUpstream
let gateway: TestGateway
beforeAll(async () => {
  upstream = await startOpenAIFake("sk-openai-test")
  gateway = await startGateway({
    OPENAI_API_KEY: "sk-openai-test",
    OPENAI_BASE_URL: `${upstream.url}/v1`,
    CLIENT_WRITE_TIMEOUT_SECONDS: "0.5",
    SSE_HEARTBEAT_SECONDS: "0"
  })
})
afterAll(async () => {
  await gateway?.close()
  await upstream?.close()
})

/**
 * Far more than the socket buffers between the fake, the gateway and the client hold (a few
 * MB on loopback): 1,000 pieces of 32 KiB, each piece one streamed event. Commas, not spaces,
 * separate its words, since the fake streams one event per space-separated piece.
 */
const longAnswer = Array.from({ length: 1_000 }, () => "lorem,ipsum,dolor,sit,amet,".repeat(1_214) + " ").join("")

/** Sends a streamed chat request over a raw socket; resolves once the first SSE event has arrived. */
const openStream = async (userId: string) => {
  const body = JSON.stringify({
    model: "gpt-4",
    messages: [{ role: "user", content: "Tell a very long story" }],
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: 2_000
  })
  const port = new URL(gateway.url).port
  const socket: Socket = connect(Number(port), "127.0.0.1")
  let received = ""
  let closed = false
  socket.setEncoding("utf8")
  socket.on("data", (text: string) => (received += text))
  socket.on("close", () => (closed = true))
  socket.write(
    [
      "POST /v1/chat/completions HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      `Authorization: Bearer ${await token(userId)}`,
      "Content-Type: application/json",
      `Content-Length: ${Buffer.byteLength(body)}`,
      "",
      body
    ].join("\r\n")
  )
  await until(() => received.includes("data: "), "the first event")
  // The gateway's own id names the request in the ledger.
  const requestId = /^x-request-id: (\S+)$/im.exec(received)?.[1]
  return { socket, requestId, received: () => received, closed: () => closed }
}

describe("a client that stops reading a stream", () => {
  it("is cut after the write timeout: upstream aborted, connection closed, metered usage charged, no hold left", async () => {
    const api = client(gateway.url)
    const userId = `stalled-${Math.random().toString(36).slice(2, 8)}`
    upstream.script({ kind: "reply", reply: { text: longAnswer } })

    const stream = await openStream(userId)
    expect(stream.requestId).toMatch(/^req_[0-9a-f]{32}$/)
    expect(stream.received()).toMatch(/^HTTP\/1\.1 200 OK/)
    stream.socket.pause()

    // The gateway stops pulling from the upstream, then gives up on the client and aborts the upstream call.
    await upstream.waitForEarlyClose()
    expect(upstream.received).toHaveLength(1)

    // Reading again, the client finds the stream ended without [DONE] and the connection closed.
    stream.socket.resume()
    await until(stream.closed, "the gateway closing the connection")
    expect(stream.received()).not.toContain("data: [DONE]")

    // The hold was settled on the metered usage, and the stall was counted.
    const charge = await api.chargeOf(userId, stream.requestId!)
    expect(charge.completion_tokens).toBeGreaterThan(0)
    expect(usd(charge.amount)).toBeLessThan(0n)
    expect(await api.balance(userId)).toEqual({
      balance: usd("100") + usd(charge.amount),
      available: usd("100") + usd(charge.amount)
    })
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
    expect(sample(metrics, "gateway_client_write_timeouts_total")).toBe(1)
  })
})
