import type { Json } from "../../dialects/types.ts";
import type { ToolChoiceForcer } from "../../runtimes/types.ts";
import { type Exchange, failExchange } from "../exchange.ts";
import type { Translation } from "../plan.ts";
import { failedTally, offeredTools, relayedTally, type ToolTally, translatedTally } from "../tally.ts";
import { TargetUnavailable, type Upstream } from "../upstream.ts";
import { usageOf } from "../usage.ts";
import { sendChatAnswer, sendTranslatedAnswer } from "./whole.ts";

export interface ForcedJob {
  server: { name: string; responseTimeoutMs: number };
  payload: Json;
  baseUrl: string;
  stream: boolean;
  forcer: ToolChoiceForcer;
  translation?: Translation;
}

/**
 * A request that requires a tool call, on a runtime whose chat endpoint would not enforce it: the
 * prompt from the runtime's template, then generation under a JSON schema of the allowed calls.
 */
export async function respondForced(ex: Exchange, upstream: Upstream, job: ForcedJob): Promise<void> {
  const { server, stream, forcer } = job;
  const post = (request: { path: string; body: Json }) =>
    upstream.postJson({
      url: new URL(job.baseUrl + request.path),
      body: request.body,
      timeoutMs: server.responseTimeoutMs,
      abort: ex.abort.signal,
    });
  let answer: Json;
  try {
    const templated = await post(forcer.templateRequest(job.payload));
    answer = forcer.chatAnswer(job.payload, await post(forcer.completionRequest(job.payload, templated)));
  } catch (error) {
    // Nothing of a forced answer has been sent yet: a target that cannot take it leaves it to the next.
    if (error instanceof TargetUnavailable) throw error;
    if (ex.abort.signal.aborted)
      return ex.record(499, { server: server.name, stream, error: "client disconnected" });
    return failExchange(ex, 502, `server ${server.name} ${(error as Error).message}`, {
      facts: { server: server.name, stream, tools: failedTally(offeredTools(job.payload)) },
    });
  }
  const offered = offeredTools(job.payload);
  let tools: ToolTally;
  if (job.translation) {
    const { report } = sendTranslatedAnswer(ex, server.name, answer, stream, job.translation);
    tools = translatedTally(offered, report);
  } else {
    sendChatAnswer(ex, server.name, answer, stream);
    tools = relayedTally(offered, answer);
  }
  ex.record(200, { server: server.name, stream, usage: usageOf(answer), tools });
}
