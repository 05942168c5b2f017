import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { Auth } from "../services/auth/Auth.ts"
import { CurrentRequest } from "../services/telemetry/RequestRecord.ts"
import { Authentication, CurrentUser, MessagesAuthentication } from "./Api.ts"

/** Verifies the bearer token, provides the CurrentUser to the endpoint and names the user in the request's record. */
export const layer = Layer.effect(
  Authentication,
  Effect.gen(function* () {
    const auth = yield* Auth
    return Authentication.of({
      bearer: (httpEffect, { credential }) =>
        Effect.flatMap(auth.verify(Redacted.value(credential)), (user) =>
          Effect.flatMap(CurrentRequest, (record) => {
            record.userId = user.id
            return Effect.provideService(httpEffect, CurrentUser, user)
          })
        )
    })
  })
)

/** The Messages routes take the same JWT as `x-api-key` (Anthropic SDK 0.x) or as a bearer token (SDK 1.x). */
export const messagesLayer = Layer.effect(
  MessagesAuthentication,
  Effect.map(Authentication, ({ bearer }) => MessagesAuthentication.of({ apiKey: bearer, bearer }))
).pipe(Layer.provide(layer))
