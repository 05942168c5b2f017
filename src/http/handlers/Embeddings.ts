import * as Effect from "effect/Effect"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import { GatewayConfig } from "../../Config.ts"
import * as Money from "../../domain/Money.ts"
import { makeProviderUserId } from "../../services/auth/ProviderUserId.ts"
import { Embeddings } from "../../services/embeddings/Embeddings.ts"
import { CurrentRequest } from "../../services/telemetry/RequestRecord.ts"
import { Admission, Api, CurrentUser } from "../Api.ts"
import { RequestId } from "../RequestContext.ts"

/** `POST /v1/embeddings`: the same headers as a chat completion tell who answered and what it cost. */
export const EmbeddingsHandlers = HttpApiBuilder.group(
  Api,
  "embeddings",
  Effect.fnUntraced(function* (handlers) {
    const embeddings = yield* Embeddings
    const { auth } = yield* GatewayConfig
    const providerUserId = makeProviderUserId(auth)

    return handlers.handle("create", ({ payload }) =>
      Effect.gen(function* () {
        const record = yield* CurrentRequest
        const user = yield* CurrentUser
        const { beforeUpstream, upstreamCalled, tokens } = yield* Admission
        const { model, provider, fallbackFrom, list, settlement } = yield* embeddings.embed({
          user,
          request: payload,
          providerUser: providerUserId(user.id),
          requestId: yield* RequestId,
          observer: record,
          admission: beforeUpstream,
          upstreamCalled,
          tokens
        })
        return HttpServerResponse.jsonUnsafe(list, {
          headers: {
            "x-gateway-provider": provider,
            "x-gateway-model": model.id,
            ...(fallbackFrom === undefined ? {} : { "x-gateway-fallback-from": fallbackFrom }),
            ...record.timingHeaders(),
            ...(settlement === undefined
              ? {}
              : {
                  "x-request-cost": Money.format(settlement.charged),
                  "x-balance-remaining": Money.format(settlement.balance)
                })
          }
        })
      })
    )
  })
)
