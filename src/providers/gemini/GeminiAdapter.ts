/**
 * The Gemini adapter: the only Gemini code that talks HTTP, with Effect's HttpClient over
 * the provider's undici pool. Requests are tied to a scope, so interrupting a call or
 * ending a stream aborts the HTTP request. The key goes in `x-goog-api-key`, as the
 * official SDK sends it (never in the URL, where it would reach logs).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import * as Sse from "effect/encoding/Sse"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
import type { ProviderEndpoint, UpstreamTimeouts } from "../../Config.ts"
import type { CatalogModel } from "../../domain/Catalog.ts"
import { boundCall, boundStream } from "../Bounds.ts"
import type { Provider, ProviderRequest } from "../Provider.ts"
import { decoder, translateStream } from "../StreamTranslator.ts"
import { makeDispatcher } from "../UpstreamHttp.ts"
import { type Fail, failFor, fromTranslation, newCompletionId, nowSeconds } from "../adapterSupport.ts"
import { transportReason } from "../upstreamErrors.ts"
import { geminiErrorReason } from "./errors.ts"
import { toGenerateContentRequest } from "./translateRequest.ts"
import { parseJson, streamOpened, streamTranslator, toChatCompletion } from "./translateResponse.ts"
import { ErrorBody, type GenerateContentRequest, GenerateContentResponse } from "./wire.ts"

const decodeResponse = decoder(GenerateContentResponse, "Gemini response")
const decodeErrorBody = decoder(ErrorBody, "Gemini error")

/** The error body when it is Gemini's JSON; anything else (a proxy's HTML page) leaves the status to speak. */
const parseErrorBody = (text: string): ErrorBody | undefined => {
  try {
    const result = decodeErrorBody(JSON.parse(text))
    return Result.isSuccess(result) ? result.success : undefined
  } catch {
    return undefined
  }
}

export const makeGeminiAdapter = Effect.fnUntraced(function* (
  endpoint: ProviderEndpoint & { readonly apiKey: Redacted.Redacted<string> },
  timeouts: UpstreamTimeouts
) {
  const dispatcher = yield* makeDispatcher(timeouts.connectMs)
  const http = HttpClient.withScope(
    yield* NodeHttpClient.makeUndici.pipe(Effect.provideService(NodeHttpClient.Dispatcher, dispatcher))
  )
  const apiKey = Redacted.value(endpoint.apiKey)

  const request = (model: CatalogModel, method: string, body: GenerateContentRequest) =>
    HttpClientRequest.post(`${endpoint.baseUrl}/v1beta/models/${model.upstreamModel}:${method}`).pipe(
      HttpClientRequest.setHeader("x-goog-api-key", apiKey),
      HttpClientRequest.bodyJsonUnsafe(body)
    )

  /** Sends the request in the current scope; a non-2xx answer fails with what its body says. */
  const send = (outgoing: HttpClientRequest.HttpClientRequest, fail: Fail) =>
    http.execute(outgoing).pipe(
      // Trace context is ours; it is not sent to a third party.
      Effect.provideService(HttpClient.TracerPropagationEnabled, false),
      Effect.catch((error) => Effect.fail(fail(transportReason(error, "Gemini")))),
      Effect.flatMap((response) =>
        response.status >= 200 && response.status < 300 ? Effect.succeed(response) : failure(response, fail)
      )
    )

  const failure = (response: HttpClientResponse.HttpClientResponse, fail: Fail) =>
    Effect.gen(function* () {
      const text = yield* response.text.pipe(Effect.orElseSucceed(() => ""))
      const now = yield* Clock.currentTimeMillis
      return yield* Effect.fail(fail(geminiErrorReason(response.status, parseErrorBody(text), response.headers, now)))
    })

  const complete = (input: ProviderRequest) => {
    const fail = failFor("google", input.model)
    return Effect.scoped(
      Effect.gen(function* () {
        const body = yield* fromTranslation(toGenerateContentRequest(input), fail)
        const response = yield* send(request(input.model, "generateContent", body), fail)
        // A body cut on its way is a transport failure; a whole body that is not JSON, a broken answer.
        const text = yield* response.text.pipe(
          Effect.catch((error) => Effect.fail(fail(transportReason(error, "Gemini"))))
        )
        const decoded = yield* fromTranslation(Result.flatMap(parseJson(text, "a response"), decodeResponse), fail)
        const context = { id: yield* newCompletionId, created: yield* nowSeconds, model: input.model.id }
        return yield* fromTranslation(toChatCompletion(decoded, context), fail)
      })
    ).pipe((call) => boundCall(call, timeouts, fail, input.maxTokens))
  }

  const stream = (input: ProviderRequest) => {
    const fail = failFor("google", input.model)
    const broken = (error: unknown) => Stream.fail(fail(transportReason(error, "Gemini")))
    const open = Effect.gen(function* () {
      const body = yield* fromTranslation(toGenerateContentRequest(input), fail)
      const outgoing = request(input.model, "streamGenerateContent", body).pipe(
        HttpClientRequest.setUrlParam("alt", "sse")
      )
      const response = yield* send(outgoing, fail)
      const events = response.stream.pipe(
        Stream.decodeText(),
        Stream.pipeThroughChannel(Sse.decode()),
        Stream.map((event) => event.data),
        Stream.catch(broken)
      )
      return Stream.concat(Stream.succeed(streamOpened), events)
    })
    return Stream.unwrap(
      Effect.gen(function* () {
        const context = { id: yield* newCompletionId, created: yield* nowSeconds, model: input.model.id }
        const events = boundStream(open, timeouts, fail)
        return translateStream(events, streamTranslator(context, input.request.n ?? 1), fail)
      })
    )
  }

  return { name: "google", complete, stream } satisfies Provider
})
