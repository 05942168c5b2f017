/**
 * A TCP proxy in front of a server, so a test can make it unreachable and bring it back
 * without touching the shared server itself.
 */
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net"

export interface TcpProxy {
  readonly port: number
  /** Drops every connection and refuses new ones, as a server that went away. */
  readonly cut: () => Promise<void>
  /** Accepts connections again, on the same port. */
  readonly restore: () => Promise<void>
  readonly close: () => Promise<void>
}

export const startTcpProxy = async (target: { readonly host: string; readonly port: number }): Promise<TcpProxy> => {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = 0

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const listening = createServer((client) => {
        const upstream = connect(target.port, target.host)
        sockets.add(client).add(upstream)
        const close = () => {
          client.destroy()
          upstream.destroy()
          sockets.delete(client)
          sockets.delete(upstream)
        }
        client.pipe(upstream).pipe(client)
        for (const socket of [client, upstream]) socket.on("error", close).on("close", close)
      })
      listening.once("error", reject)
      listening.listen(port, "127.0.0.1", () => {
        port = (listening.address() as AddressInfo).port
        server = listening
        resolve()
      })
    })

  const cut = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy()
      sockets.clear()
      if (server === undefined) return resolve()
      server.close(() => resolve())
      server = undefined
    })

  await listen()
  return {
    get port() {
      return port
    },
    cut,
    restore: listen,
    close: cut
  }
}
