import type { Translator } from "../types.ts";
import { respondGemini } from "./answer.ts";
import { countTokens, geminiToChat } from "./request.ts";
import { validateGemini } from "./schema.ts";
import { streamGemini } from "./stream.ts";

/** Google's Gemini API (`/v1beta/models/{model}:generateContent`), the dialect Gemini CLI speaks. */
export const gemini: Translator = {
  dialect: "gemini",
  validate: validateGemini,
  toChat: geminiToChat,
  respond: respondGemini,
  stream: streamGemini,
  localAnswer: () => undefined,
  countTokens,
  nativeRequest: (body) => body,
};
