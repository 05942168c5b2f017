import * as Effect from "effect/Effect"
import * as HttpApiBuilder from "effect/http-api/HttpApiBuilder"
import { NotFound, quoted } from "../../domain/errors.ts"
import { GatewayConfig } from "../../Config.ts"
import { ModelCatalog } from "../../services/registry/ModelCatalog.ts"
import { Api } from "../Api.ts"

export const ModelsHandlers = HttpApiBuilder.group(
  Api,
  "models",
  Effect.fnUntraced(function* (handlers) {
    const catalog = yield* ModelCatalog
    const { catalog: options } = yield* GatewayConfig
    const list = options.listFormat === "openai" ? { object: "list" as const, data: catalog.infos } : catalog.infos
    const byId = new Map(catalog.infos.map((info) => [info.id, info]))
    return handlers
      .handle("list", () => Effect.succeed(list))
      .handle("retrieve", ({ params }) => {
        const info = byId.get(params.id)
        return info === undefined
          ? Effect.fail(new NotFound({ message: `The model ${quoted(params.id)} does not exist`, param: "id" }))
          : Effect.succeed(info)
      })
  })
)
