import { newId } from "../ids.ts";
import { sse, streamRenderer } from "../sse.ts";
import type { ChatEvent, Json, StreamRenderer, TranslationContext, UsageEvent } from "../types.ts";
import { stopReason, toolUseId, usageOf } from "./mapping.ts";

type BlockKind = "text" | "thinking" | "tool_use";

/**
 * A Messages stream: message_start, one content block per run of text, thinking or tool call
 * (started, deltas, stopped), then message_delta with the stop reason and usage, and message_stop.
 */
export function streamMessage(context: TranslationContext): StreamRenderer {
  let index = -1;
  let open: BlockKind | undefined;
  let finish: string | undefined;
  let usage: UsageEvent | undefined;
  const delta = (value: Json) =>
    sse("content_block_delta", { type: "content_block_delta", index, delta: value });
  const start = () =>
    sse("message_start", {
      type: "message_start",
      message: {
        id: newId("msg"),
        type: "message",
        role: "assistant",
        model: context.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: usageOf(undefined, context),
      },
    });
  const close = () => {
    if (!open) return "";
    // As in Anthropic's own streams, a thinking block ends with its signature (empty: rig has none).
    const signature = open === "thinking" ? delta({ type: "signature_delta", signature: "" }) : "";
    open = undefined;
    return `${signature}${sse("content_block_stop", { type: "content_block_stop", index })}`;
  };
  const begin = (kind: BlockKind, block: Json) => {
    const text = close();
    index++;
    open = kind;
    return text + sse("content_block_start", { type: "content_block_start", index, content_block: block });
  };
  const render = (event: ChatEvent): string => {
    switch (event.type) {
      case "text":
        if (!event.text) return "";
        return (
          (open === "text" ? "" : begin("text", { type: "text", text: "" })) +
          delta({ type: "text_delta", text: event.text })
        );
      case "reasoning":
        if (!event.text) return "";
        return (
          (open === "thinking" ? "" : begin("thinking", { type: "thinking", thinking: "", signature: "" })) +
          delta({ type: "thinking_delta", thinking: event.text })
        );
      case "tool_call":
        return begin("tool_use", { type: "tool_use", id: toolUseId(event.id), name: event.name, input: {} });
      case "tool_arguments":
        return delta({ type: "input_json_delta", partial_json: event.text });
      case "finish":
        finish = event.reason;
        return "";
      case "usage":
        usage = event;
        return "";
      case "error":
        return "";
    }
  };
  const end = (error?: string) => {
    if (error) return close() + sse("error", { type: "error", error: { type: "api_error", message: error } });
    return (
      close() +
      sse("message_delta", {
        type: "message_delta",
        delta: { stop_reason: stopReason(finish), stop_sequence: null },
        usage: usageOf(usage, context),
      }) +
      sse("message_stop", { type: "message_stop" })
    );
  };
  return streamRenderer(start, render, end);
}
