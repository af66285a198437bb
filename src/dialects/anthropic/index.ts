import type { Translator } from "../types.ts";
import { respondMessage } from "./answer.ts";
import { countTokens, fixNativeMessages, messagesToChat } from "./request.ts";
import { streamMessage } from "./stream.ts";

/** Anthropic Messages (`/v1/messages`), the dialect Claude Code speaks. */
export const anthropic: Translator = {
  dialect: "messages",
  toChat: messagesToChat,
  respond: respondMessage,
  stream: streamMessage,
  localAnswer: () => undefined,
  countTokens,
  nativeRequest: fixNativeMessages,
};
