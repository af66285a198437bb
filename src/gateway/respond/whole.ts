import { chatStreamOf, responseEvents } from "../../dialects/chat.ts";
import type { ChatEvent, Json } from "../../dialects/types.ts";
import { type Exchange, openStream } from "../exchange.ts";
import { sendJson } from "../http.ts";
import type { Translation } from "../plan.ts";

/**
 * A whole Chat Completions answer, sent in the client's dialect; a client that asked to stream gets
 * it as one stream. Returns the events it was rendered from.
 */
export function sendWholeAnswer(
  ex: Exchange,
  server: string,
  answer: Json,
  stream: boolean,
  translation: Translation | undefined,
): ChatEvent[] {
  if (!translation) {
    if (!stream) sendJson(ex.res, 200, answer, { "x-rig-server": server });
    else {
      openStream(ex.res, server);
      ex.res.end(chatStreamOf(answer));
    }
    return [];
  }
  const { context } = translation;
  const events = responseEvents(answer, context, context.thinking);
  sendEvents(ex, server, events, stream, translation);
  return events;
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
