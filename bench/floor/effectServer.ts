/**
 * The pass-through floor of Effect's HTTP stack: an HttpApi with one `POST /v1/chat/completions`
 * endpoint, served as src/http/Server.ts and src/App.ts serve the gateway (HttpApiBuilder.layer,
 * HttpRouter.serve without its request logger, NodeHttpServer on `createServer`, the tracer off as
 * when no OTLP endpoint is set), calling the upstream (bench/floor/upstreamCall.ts) in Effect.tryPromise.
 *
 *   node bench/floor/effectServer.ts --upstream URL [--variant plain|span|fork]
 *
 * `span` wraps the upstream call in Effect.withSpan; `fork` first forks a fiber and joins it, as the
 * gateway's rate-limit middleware does with its verdict (src/http/RateLimit.ts).
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as References from "effect/References"
import * as Schema from "effect/Schema"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as HttpApi from "effect/http-api/HttpApi"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import * as HttpApiEndpoint from "effect/http-api/HttpApiEndpoint"
import * as HttpApiGroup from "effect/http-api/HttpApiGroup"
import { createServer } from "node:http"
import { parseArgs } from "node:util"
import { makeUpstreamCall } from "./upstreamCall.ts"

const { values } = parseArgs({
  options: { upstream: { type: "string" }, variant: { type: "string", default: "plain" } }
})
const callUpstream = makeUpstreamCall(values.upstream!)

const ChatRequest = Schema.Struct({
  model: Schema.String,
  messages: Schema.Array(Schema.Struct({ role: Schema.String, content: Schema.String }))
})
type ChatRequest = typeof ChatRequest.Type

class FloorApi extends HttpApi.make("floor").add(
  HttpApiGroup.make("chat").add(
    HttpApiEndpoint.post("completions", "/v1/chat/completions", { payload: ChatRequest, success: Schema.Unknown })
  )
) {}

const upstream = (payload: ChatRequest) =>
  Effect.orDie(Effect.tryPromise({ try: (signal) => callUpstream(payload, signal), catch: (error) => error }))

const variants: Record<string, (payload: ChatRequest) => Effect.Effect<unknown>> = {
  plain: upstream,
  span: (payload) => Effect.withSpan(upstream(payload), "floor.upstream"),
  fork: (payload) =>
    Effect.forkChild(Effect.sync(() => payload.model)).pipe(
      Effect.flatMap(Fiber.join),
      Effect.andThen(upstream(payload))
    )
}
const complete = variants[values.variant]
if (complete === undefined) throw new Error(`unknown variant ${values.variant}: ${Object.keys(variants).join(", ")}`)

// The gateway's handler answers with the completion as JSON itself, not through the success schema.
const ChatHandlers = HttpApiBuilder.group(FloorApi, "chat", (handlers) =>
  handlers.handle("completions", ({ payload }) =>
    Effect.map(complete(payload), (json) => HttpServerResponse.jsonUnsafe(json))
  )
)

const Server = HttpRouter.serve(HttpApiBuilder.layer(FloorApi).pipe(Layer.provide(ChatHandlers)), {
  disableLogger: true
}).pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provide(Layer.succeed(References.TracerEnabled, false))
)

NodeRuntime.runMain(Layer.launch(Server))
