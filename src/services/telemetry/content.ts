/** The text of an answer, for exporters that were allowed to keep it (LANGFUSE_LOG_CONTENT). */
import type { ChatCompletion } from "../../domain/Chat.ts"

export const contentOf = (completion: ChatCompletion): string =>
  completion.choices
    .map((choice) => (typeof choice.message.content === "string" ? choice.message.content : ""))
    .join("\n")
