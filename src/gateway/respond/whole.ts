import { chatStreamOf, wholeAnswer } from "../../dialects/chat.ts";
import type { ChatEvent, Json, ToolCallReport } from "../../dialects/types.ts";
import { type Exchange, openStream } from "../exchange.ts";
import { sendJson } from "../http.ts";
import type { Translation } from "../plan.ts";

/** A whole Chat Completions answer to a Chat client; a client that asked to stream gets it as one stream. */
export function sendChatAnswer(ex: Exchange, server: string, answer: Json, stream: boolean): void {
  if (!stream) sendJson(ex.res, 200, answer, { "x-rig-server": server });
  else {
    openStream(ex.res, server);
    ex.res.end(chatStreamOf(answer));
  }
}

/**
 * A whole Chat Completions answer, sent in the client's dialect, streamed or not. Returns the events
 * it was rendered from and what its tool calls were.
 */
export function sendTranslatedAnswer(
  ex: Exchange,
  server: string,
  answer: Json,
  stream: boolean,
  translation: Translation,
): { events: ChatEvent[]; report: ToolCallReport } {
  const { context } = translation;
  const built = wholeAnswer(answer, context, context.thinking);
  sendEvents(ex, server, built.events, stream, translation);
  return built;
}

/** Events rendered whole in the client's dialect, streamed or not. */
export function sendEvents(
  ex: Exchange,
  server: string,
  events: ChatEvent[],
  stream: boolean,
  { translator, context }: Translation,
): void {
  if (!stream) {
    sendJson(ex.res, 200, translator.respond(events, context), { "x-rig-server": server });
    return;
  }
  openStream(ex.res, server);
  const renderer = translator.stream(context);
  ex.res.end(renderer.push(events) + renderer.end());
}
