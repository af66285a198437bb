import type { Translator } from "../types.ts";
import { respondMessage } from "./answer.ts";
import { countTokens, fixNativeMessages, messagesToChat } from "./request.ts";
import { validateMessages } from "./schema.ts";
import { streamMessage } from "./stream.ts";

/** Anthropic Messages (`/v1/messages`), the dialect Claude Code speaks. */
export const anthropic: Translator = {
  dialect: "messages",
  validate: validateMessages,
  toChat: messagesToChat,
  respond: respondMessage,
  stream: streamMessage,
  localAnswer: () => undefined,
  countTokens,
  nativeRequest: fixNativeMessages,
};
