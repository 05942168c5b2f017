/**
 * The built-in Anthropic catalog entries, resolved as the gateway resolves them, and a request
 * translator over them: translation tests run against the real capabilities of each model.
 */
import { Result } from "effect"
import type { CatalogModel } from "../../../src/domain/Catalog.ts"
import type { ChatCompletionRequest, ChatMessage } from "../../../src/domain/Chat.ts"
import { toMessagesRequest } from "../../../src/providers/anthropic/translateRequest.ts"
import { buildCatalog, CatalogInvalid } from "../../../src/services/registry/ModelCatalog.ts"
import { anthropicModels } from "../../../src/services/registry/models/anthropic.ts"

const catalog = buildCatalog(anthropicModels, "built-in")
if (catalog instanceof CatalogInvalid) throw catalog

export const claude = (id: string): CatalogModel => {
  const model = catalog.find((entry) => entry.id === id)
  if (model === undefined) throw new Error(`no catalog model ${id}`)
  return model
}

export type TestRequest = Partial<ChatCompletionRequest> & { readonly messages: ReadonlyArray<ChatMessage> }

/** The Anthropic call for a request to a catalog model, with a completion budget. */
export const callFor = (id: string, request: TestRequest, maxTokens = 16000, stream = false) =>
  toMessagesRequest({ request: { model: id, ...request }, model: claude(id), maxTokens, requestId: "r" }, stream)

export const bodyFor = (id: string, request: TestRequest, maxTokens = 16000) =>
  Result.map(callFor(id, request, maxTokens), (call) => call.body)

export const user = (content: ChatMessage["content"]): ChatMessage => ({ role: "user", content })
