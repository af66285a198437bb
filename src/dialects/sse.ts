import type { ChatEvent, StreamRenderer } from "./types.ts";

/** One server-sent event. */
export interface SseEvent {
  event?: string;
  data: string;
}

/** An incremental SSE parser: feed it text as it arrives, get whole events back. */
export class SseParser {
  private buffer = "";

  feed(text: string): SseEvent[] {
    this.buffer += text;
    const events: SseEvent[] = [];
    for (;;) {
      const match = /\r?\n\r?\n/.exec(this.buffer);
      if (!match) break;
      const block = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      let event: string | undefined;
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(":")) continue;
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
      }
      if (data.length) events.push({ event, data: data.join("\n") });
    }
    return events;
  }
}

export function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * A stream renderer from its parts: `open` writes the stream's first events, once, before whatever
 * comes first (events or the end); `render` writes one event; `close` ends the stream, with the
 * dialect's error event when there is an error.
 */
export function streamRenderer(
  open: () => string,
  render: (event: ChatEvent) => string,
  close: (error?: string) => string,
): StreamRenderer {
  let opened = false;
  const once = () => {
    if (opened) return "";
    opened = true;
    return open();
  };
  return {
    push: (events) => once() + events.map(render).join(""),
    end: (error) => once() + close(error),
  };
}
