import { Effect, Layer, Redacted } from "effect"
import { Auth } from "../services/auth/Auth.ts"
import { Authentication, CurrentUser } from "./Api.ts"

/** Verifies the bearer token and provides the CurrentUser to the endpoint. */
export const layer = Layer.effect(
  Authentication,
  Effect.gen(function* () {
    const auth = yield* Auth
    return Authentication.of({
      bearer: (httpEffect, { credential }) =>
        Effect.flatMap(auth.verify(Redacted.value(credential)), (user) =>
          Effect.provideService(httpEffect, CurrentUser, user)
        )
    })
  })
)
