import { ThinkSplitter } from "./reasoning.ts";
import { repairJson } from "./repair.ts";
import type { ChatEvent, Json, ToolCallReport, TranslationContext, UsageEvent } from "./types.ts";
import { usageOf } from "./usage.ts";

interface PendingCall {
  id: string;
  name: string;
  arguments: string;
}

/** Arguments that did not parse as JSON (nothing at all counts as `{}`, not as malformed). */
function malformed(text: string): boolean {
  if (!text.trim()) return false;
  try {
    JSON.parse(text);
    return false;
  } catch {
    return true;
  }
}

const CALL_OPEN = /<tool_call>|<function=/;

/** Tool calls a model wrote as text: `<tool_call>{"name":…,"arguments":…}</tool_call>` or Qwen's XML form. */
export function parseTextToolCalls(text: string): Array<{ name: string; arguments: string }> {
  const calls: Array<{ name: string; arguments: string }> = [];
  for (const match of text.matchAll(/<tool_call>\s*([\s\S]*?)\s*(?:<\/tool_call>|$)/g)) {
    const inner = match[1]!.trim();
    const xml = /<function=([^>\s]+)>([\s\S]*?)(?:<\/function>|$)/.exec(inner);
    if (xml) {
      const parameters: Record<string, unknown> = {};
      for (const parameter of xml[2]!.matchAll(/<parameter=([^>\s]+)>\s*([\s\S]*?)\s*<\/parameter>/g)) {
        const raw = parameter[2]!;
        try {
          parameters[parameter[1]!] = JSON.parse(raw);
        } catch {
          parameters[parameter[1]!] = raw;
        }
      }
      calls.push({ name: xml[1]!, arguments: JSON.stringify(parameters) });
      continue;
    }
    try {
      const parsed = JSON.parse(repairJson(inner)) as {
        name?: string;
        arguments?: unknown;
        parameters?: unknown;
      };
      if (typeof parsed.name === "string") {
        const args = parsed.arguments ?? parsed.parameters ?? {};
        calls.push({
          name: parsed.name,
          arguments: typeof args === "string" ? repairJson(args) : JSON.stringify(args),
        });
      }
    } catch {}
  }
  return calls;
}

/**
 * The usage a chunk reports, as the usage event: the `usage` object wins; llama-server's `timings`
 * (on its last chunk even when the client did not ask for usage) count only when nothing better came,
 * and say how much of the prompt its cache served when the usage does not (`usageOf` reads both).
 */
function usageEvent(chunk: Json, known: UsageEvent | undefined): UsageEvent | undefined {
  const usage = chunk.usage as Json | null | undefined;
  const hasUsage = typeof usage === "object" && usage !== null;
  if (known && !hasUsage) return known;
  const counts = usageOf(chunk);
  if (!counts) return known;
  const reasoning = hasUsage
    ? (usage.completion_tokens_details as Json | undefined)?.reasoning_tokens
    : undefined;
  return {
    type: "usage",
    input: counts.prompt,
    output: counts.completion,
    ...(counts.cached === undefined ? {} : { cached: counts.cached }),
    ...(typeof reasoning === "number" ? { reasoning } : {}),
  };
}

/**
 * Turns Chat Completions chunks (or a whole response) into the internal event model: reasoning from
 * `reasoning_content`, `reasoning` or `<think>` tags; tool calls assembled from fragments, their
 * arguments repaired, names mapped back; calls written as text extracted when tools were offered;
 * `finish: tool_calls` whenever a call was produced.
 */
export class ChatEventBuilder {
  private readonly think: ThinkSplitter;
  private readonly calls = new Map<number, PendingCall>();
  private callCount = 0;
  private readonly calledNames: string[] = [];
  private repairedCount = 0;
  private extractedCount = 0;
  private textHold = "";
  private finishReason?: string;
  private usage?: UsageEvent;
  private ended = false;

  constructor(
    private readonly context: TranslationContext,
    thinkingRequested = false,
  ) {
    this.think = new ThinkSplitter(thinkingRequested ? 4096 : 0);
  }

  private text(parts: Array<{ kind: "text" | "reasoning"; text: string }>): ChatEvent[] {
    const events: ChatEvent[] = [];
    for (const part of parts) {
      if (part.kind === "reasoning") {
        events.push({ type: "reasoning", text: part.text });
        continue;
      }
      if (!this.context.toolsOffered) {
        events.push({ type: "text", text: part.text });
        continue;
      }
      // When tools were offered, text from a call opener on is held until the end: it may be a call.
      this.textHold += part.text;
      const at = this.textHold.search(CALL_OPEN);
      if (at === -1) {
        const partial =
          /<(?:t(?:o(?:o(?:l(?:_(?:c(?:a(?:l(?:l)?)?)?)?)?)?)?)?|f(?:u(?:n(?:c(?:t(?:i(?:o(?:n(?:=)?)?)?)?)?)?)?)?)?$/.exec(
            this.textHold,
          );
        const keep = partial ? partial[0].length : 0;
        const emit = this.textHold.slice(0, this.textHold.length - keep);
        this.textHold = this.textHold.slice(this.textHold.length - keep);
        if (emit) events.push({ type: "text", text: emit });
      } else if (at > 0) {
        events.push({ type: "text", text: this.textHold.slice(0, at) });
        this.textHold = this.textHold.slice(at);
      }
    }
    return events;
  }

  private closeCall(index: number): ChatEvent[] {
    const call = this.calls.get(index);
    if (!call) return [];
    this.calls.delete(index);
    const text = repairJson(call.arguments);
    if (malformed(call.arguments) && !malformed(text)) this.repairedCount++;
    return [{ type: "tool_arguments", index, text }];
  }

  private openCall(index: number, id: string | undefined, name: string, args: string): ChatEvent[] {
    const events: ChatEvent[] = [];
    for (const open of [...this.calls.keys()]) if (open !== index) events.push(...this.closeCall(open));
    const original = this.context.toolNames.get(name) ?? name;
    const callId = id || `call_${Date.now().toString(36)}_${this.callCount}`;
    this.callCount++;
    this.calledNames.push(name);
    this.calls.set(index, { id: callId, name: original, arguments: args });
    events.push({ type: "tool_call", index, id: callId, name: original });
    return events;
  }

  /** One parsed `data:` payload of a chat stream. */
  chunk(chunk: Json): ChatEvent[] {
    const events: ChatEvent[] = [];
    if (chunk.error) {
      const error = chunk.error as { message?: string };
      return [{ type: "error", message: error.message ?? JSON.stringify(chunk.error) }];
    }
    const choice = (chunk.choices as Json[] | undefined)?.[0];
    const delta = (choice?.delta ?? choice?.message) as Json | undefined;
    if (delta) {
      const reasoning = (delta.reasoning_content ?? delta.reasoning) as string | undefined;
      if (reasoning) events.push({ type: "reasoning", text: reasoning });
      if (typeof delta.content === "string" && delta.content)
        events.push(...this.text(this.think.push(delta.content)));
      const toolCalls = (delta.tool_calls as Json[] | undefined) ?? [];
      // Text held while thinking might open goes out before a call, so the call's blocks follow it.
      if (toolCalls.length) events.push(...this.text(this.think.release()));
      for (const [position, call] of toolCalls.entries()) {
        const index = (call.index as number | undefined) ?? position;
        const fn = (call.function ?? {}) as { name?: string; arguments?: string | object };
        const args = typeof fn.arguments === "object" ? JSON.stringify(fn.arguments) : (fn.arguments ?? "");
        const open = this.calls.get(index);
        if (open && !(fn.name && open.name && call.id && call.id !== open.id)) open.arguments += args;
        else if (fn.name) events.push(...this.openCall(index, call.id as string | undefined, fn.name, args));
      }
    }
    if (choice?.finish_reason) this.finishReason = String(choice.finish_reason);
    this.usage = usageEvent(chunk, this.usage);
    return events;
  }

  /** The end of the answer: held text, open calls, the finish reason and usage. */
  end(): ChatEvent[] {
    if (this.ended) return [];
    this.ended = true;
    const events = this.text(this.think.flush());
    if (this.textHold) {
      const written = this.callCount === 0 ? parseTextToolCalls(this.textHold) : [];
      if (written.length) {
        const before = this.textHold.slice(0, this.textHold.search(CALL_OPEN)).trim();
        if (before) events.push({ type: "text", text: before });
        written.forEach((call, offset) => {
          events.push(...this.openCall(1000 + offset, undefined, call.name, call.arguments));
        });
        this.extractedCount += written.length;
      } else events.push({ type: "text", text: this.textHold });
      this.textHold = "";
    }
    for (const index of [...this.calls.keys()]) events.push(...this.closeCall(index));
    const reason = this.callCount > 0 ? "tool_calls" : (this.finishReason ?? "stop");
    events.push({ type: "finish", reason });
    if (this.usage) events.push(this.usage);
    return events;
  }

  /** The answer's tool calls so far (complete once `end()` has run). */
  report(): ToolCallReport {
    return {
      names: [...this.calledNames],
      repaired: this.repairedCount,
      extracted: this.extractedCount,
      ...(this.finishReason === undefined ? {} : { finishReason: this.finishReason }),
    };
  }
}

/** Every event of a whole (non-streamed) chat completion. */
export function responseEvents(response: Json, context: TranslationContext, thinking = false): ChatEvent[] {
  return wholeAnswer(response, context, thinking).events;
}

/** A whole chat completion's events and what its tool calls were. */
export function wholeAnswer(
  response: Json,
  context: TranslationContext,
  thinking = false,
): { events: ChatEvent[]; report: ToolCallReport } {
  const builder = new ChatEventBuilder(context, thinking);
  const events = [...builder.chunk(response), ...builder.end()];
  return { events, report: builder.report() };
}

/** A whole Chat Completions answer as the stream a client asked for: one delta, the finish, [DONE]. */
export function chatStreamOf(answer: Json): string {
  const [choice] = (answer.choices as Array<{ message?: Json; finish_reason?: string }> | undefined) ?? [];
  const message = choice?.message ?? {};
  const toolCalls = (message.tool_calls as Json[] | undefined)?.map((call, index) => ({ index, ...call }));
  const chunk = (choices: unknown[], extra: Json = {}) =>
    `data: ${JSON.stringify({ id: answer.id, object: "chat.completion.chunk", created: answer.created, model: answer.model, choices, ...extra })}\n\n`;
  return (
    chunk([
      {
        index: 0,
        delta: {
          role: "assistant",
          ...(typeof message.content === "string" ? { content: message.content } : {}),
          ...(toolCalls?.length ? { tool_calls: toolCalls } : {}),
        },
        finish_reason: null,
      },
    ]) +
    chunk(
      [{ index: 0, delta: {}, finish_reason: choice?.finish_reason ?? "stop" }],
      answer.usage ? { usage: answer.usage } : {},
    ) +
    "data: [DONE]\n\n"
  );
}
