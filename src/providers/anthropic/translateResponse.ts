/**
 * An Anthropic message → an OpenAI completion. Pure. Thinking comes back as `reasoning_content` (its
 * text) and `thinking_blocks` (the blocks with their signatures, which a tool loop sends back); the
 * forced JSON tool of `structured.ts` comes back as the message's content.
 */
import * as Result from "effect/Result"
import type { ChatCompletion, ThinkingBlock, ToolCall } from "../../domain/Chat.ts"
import type { ProtocolReason } from "../../domain/ProviderError.ts"
import type { ResponseContext } from "../translateCommon.ts"
import { completionTextOf, unusableUsage } from "../usage.ts"
import { type AnswerOptions, finishReason, usageOf } from "./answerParts.ts"
import { jsonToolName } from "./structured.ts"
import type { Message } from "./wire.ts"

export { type AnswerOptions, finishReason, usageOf } from "./answerParts.ts"
export { streamTranslator } from "./translateStream.ts"

export const toChatCompletion = (
  message: Message,
  context: Omit<ResponseContext, "id">,
  options: AnswerOptions = { jsonTool: false }
): Result.Result<ChatCompletion, ProtocolReason> => {
  let text: string | undefined
  let reasoning = ""
  const toolCalls: Array<ToolCall> = []
  const thinkingBlocks: Array<ThinkingBlock> = []
  for (const block of message.content) {
    if (block.type === "text" && "text" in block) text = (text ?? "") + block.text
    else if (block.type === "thinking" && "thinking" in block) {
      reasoning += block.thinking
      const signature = block.signature === undefined ? {} : { signature: block.signature }
      thinkingBlocks.push({ type: "thinking", thinking: block.thinking, ...signature })
    } else if (block.type === "redacted_thinking" && "data" in block) {
      thinkingBlocks.push({ type: "redacted_thinking", data: block.data })
    } else if (block.type === "tool_use" && "input" in block) {
      const json = JSON.stringify(block.input)
      if (options.jsonTool && block.name === jsonToolName) text = (text ?? "") + json
      else toolCalls.push({ id: block.id, type: "function", function: { name: block.name, arguments: json } })
    }
  }
  const completion: ChatCompletion = {
    id: message.id,
    object: "chat.completion",
    created: context.created,
    model: context.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: text ?? (toolCalls.length > 0 ? null : ""),
          ...(toolCalls.length > 0 && { tool_calls: toolCalls }),
          ...(reasoning !== "" && { reasoning_content: reasoning }),
          ...(thinkingBlocks.length > 0 && { thinking_blocks: thinkingBlocks })
        },
        finish_reason: finishReason(message.stop_reason, options.jsonTool && toolCalls.length === 0),
        logprobs: null
      }
    ]
  }
  return Result.match(usageOf(message.usage), {
    onSuccess: (usage) => Result.succeed({ ...completion, usage }),
    onFailure: (problem) => Result.fail(unusableUsage("Anthropic", problem, completionTextOf(completion.choices)))
  })
}
