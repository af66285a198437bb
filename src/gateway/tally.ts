import type { Json, ToolCallReport } from "../dialects/types.ts";
import type { ToolTally } from "../ledger/ledger.ts";

// What an exchange's answer did with the tools offered (`rig stats`, /metrics), decided from the
// request and what the answer path saw. Pure: the response paths hand in what they have.

const list = (value: unknown): Json[] => (Array.isArray(value) ? (value as Json[]) : []);
const object = (value: unknown): Json => (value && typeof value === "object" ? (value as Json) : {});

/**
 * The tool names a request offers, in any dialect: Chat's `function.name`, Messages' and Responses'
 * `name`, Gemini's function declarations; a built-in tool without a name (web search) by its type.
 */
export function offeredTools(request: Json): string[] {
  const names: string[] = [];
  for (const tool of list(request.tools)) {
    const declarations = list(tool.functionDeclarations ?? tool.function_declarations);
    if (declarations.length) names.push(...declarations.map((declaration) => String(declaration.name)));
    else {
      const name = object(tool.function).name ?? tool.name ?? tool.type;
      if (typeof name === "string") names.push(name);
    }
  }
  return names;
}

function tally(offered: readonly string[], made: string[] | null, cut: boolean): ToolTally {
  const known = new Set(offered);
  return {
    offered: offered.length,
    made: made?.length ?? null,
    repaired: 0,
    extracted: 0,
    unoffered: made ? made.filter((name) => !known.has(name)).length : null,
    cut,
    upstreamError: false,
  };
}

/** A translated answer: rig built every call itself, so it knows which it repaired and extracted. */
export function translatedTally(offered: readonly string[], report: ToolCallReport): ToolTally {
  return {
    ...tally(offered, report.names, report.finishReason === "length"),
    repaired: report.repaired,
    extracted: report.extracted,
  };
}

/** An exchange the runtime failed (unreachable, an error status or event, cut off mid-answer). */
export function failedTally(offered: readonly string[]): ToolTally {
  return { ...tally(offered, [], false), upstreamError: true };
}

/** Whether one answer body or stream event says it was cut by the token limit; undefined when it does not say. */
function cutByLimit(value: Json): boolean | undefined {
  const choice = list(value.choices)[0];
  if (choice?.finish_reason) return choice.finish_reason === "length";
  const stop = value.stop_reason ?? object(value.delta).stop_reason;
  if (typeof stop === "string") return stop === "max_tokens";
  const response = value.response ? object(value.response) : value;
  if (response.status === "incomplete" || response.status === "completed")
    return object(response.incomplete_details).reason === "max_output_tokens";
  const candidate = list(value.candidates)[0];
  if (candidate?.finishReason) return candidate.finishReason === "MAX_TOKENS";
  return undefined;
}

/** The names of the calls in a whole answer of any dialect. */
function callNames(answer: Json): string[] {
  const message = object(list(answer.choices)[0]?.message);
  if (Array.isArray(message.tool_calls))
    return list(message.tool_calls).map((call) => String(object(call.function).name));
  if (Array.isArray(answer.content))
    return list(answer.content)
      .filter((block) => block.type === "tool_use")
      .map((block) => String(block.name));
  if (Array.isArray(answer.output))
    return list(answer.output)
      .filter((item) => item.type === "function_call" || item.type === "custom_tool_call")
      .map((item) => String(item.name));
  const parts = list(object(list(answer.candidates)[0]?.content).parts);
  return parts.filter((part) => part.functionCall).map((part) => String(object(part.functionCall).name));
}

/** A whole answer relayed as the runtime sent it: its calls are counted, none was repaired or extracted. */
export function relayedTally(offered: readonly string[], answer: Json): ToolTally {
  return tally(offered, callNames(answer), cutByLimit(answer) ?? false);
}

/**
 * A stream relayed as the runtime sent it: rig reads only its head and tail, so its calls are not
 * counted (null), while the finish reason, in the last events, is.
 */
export function relayedStreamTally(offered: readonly string[], sample: string): ToolTally {
  let cut: boolean | undefined;
  for (const line of sample.split("\n").reverse()) {
    if (!line.startsWith("data:")) continue;
    try {
      cut = cutByLimit(object(JSON.parse(line.slice(5))));
    } catch {}
    if (cut !== undefined) break;
  }
  return tally(offered, null, cut ?? false);
}

export type { ToolTally };
