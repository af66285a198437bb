import type { Translator } from "../types.ts";
import { respondResponse } from "./answer.ts";
import { isWarmup, responsesToChat } from "./request.ts";
import { validateResponses } from "./schema.ts";
import { streamResponse } from "./stream.ts";

/** OpenAI Responses (`/v1/responses`), the dialect Codex speaks. */
export const responses: Translator = {
  dialect: "responses",
  validate: validateResponses,
  toChat: responsesToChat,
  respond: respondResponse,
  stream: streamResponse,
  localAnswer: (body) => (isWarmup(body) ? [{ type: "finish", reason: "stop" }] : undefined),
  countTokens: () => undefined,
  nativeRequest: (body) => body,
};
