import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { NotImplemented } from "../../domain/errors.ts"
import { Api } from "../Api.ts"

const notYet = Effect.fail(new NotImplemented({ message: "Billing is not implemented yet" }))

export const BillingHandlers = HttpApiBuilder.group(Api, "billing", (handlers) =>
  Effect.succeed(
    handlers
      .handle("balance", () => notYet)
      .handle("transactions", () => notYet)
      .handle("credit", () => notYet)
  )
)
