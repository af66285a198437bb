import { SseParser } from "../../../dialects/sse.ts";
import { applyRules } from "../../rules.ts";
import type { AgentView, ServerView, StackView } from "../protocol.ts";
import { describeRules } from "../rules-text.ts";
import { postJson } from "./api.ts";
import { byId, formatNumber, h, setOptions } from "./dom.ts";

interface Message {
  role: "user" | "assistant";
  content: string;
}

interface Target {
  server: ServerView;
  agent?: AgentView;
}

type Json = Record<string, unknown>;

/**
 * A streamed chat with any server (or through an agent's route), showing the request rules the
 * gateway applies and the body the runtime receives after them, computed with the gateway's own rules.
 */
export class Playground {
  private readonly form = byId<HTMLFormElement>("chat-form");
  private readonly target = byId<HTMLSelectElement>("chat-target");
  private readonly rules = byId("chat-rules");
  private readonly transcript = byId("chat-transcript");
  private readonly input = byId<HTMLTextAreaElement>("chat-input");
  private readonly send = byId<HTMLButtonElement>("chat-send");
  private readonly stop = byId<HTMLButtonElement>("chat-stop");
  private stack?: StackView;
  private messages: Message[] = [];
  private abort?: AbortController;

  constructor() {
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.ask();
    });
    this.stop.addEventListener("click", () => this.abort?.abort());
    byId("chat-clear").addEventListener("click", () => {
      this.messages = [];
      this.transcript.replaceChildren();
      this.showRules();
    });
    this.target.addEventListener("change", () => this.showRules());
    this.input.addEventListener("input", () => this.showRules());
  }

  setStack(stack: StackView): void {
    this.stack = stack;
    setOptions(this.target, [
      ...stack.servers.map((server) => ({ value: `server:${server.name}`, label: `server ${server.name}` })),
      ...stack.agents.map((agent) => ({
        value: `agent:${agent.name}`,
        label: `agent ${agent.name} (server ${agent.server})`,
      })),
    ]);
    this.showRules();
  }

  private chosen(): Target | undefined {
    const [kind, name] = this.target.value.split(/:(.*)/s);
    const agent =
      kind === "agent" ? this.stack?.agents.find((candidate) => candidate.name === name) : undefined;
    const server = this.stack?.servers.find((candidate) => candidate.name === (agent ? agent.server : name));
    return server && { server, agent };
  }

  private body(target: Target, messages: Message[]): Json {
    return { model: target.server.name, messages, stream: true, stream_options: { include_usage: true } };
  }

  /** The body after the server's rules, then the agent's: what the gateway sends the runtime. */
  private received(target: Target, body: Json): Json {
    return applyRules(applyRules(body, target.server.request), target.agent?.request);
  }

  private showRules(): void {
    const target = this.chosen();
    if (!target) {
      this.rules.replaceChildren();
      return;
    }
    const lines = [
      ...describeRules(`server ${target.server.name}`, target.server.request),
      ...(target.agent ? describeRules(`agent ${target.agent.name}`, target.agent.request) : []),
    ];
    const draft = this.body(target, [...this.messages, { role: "user", content: this.input.value }]);
    this.rules.replaceChildren(
      h("h3", {}, "Request rules applied"),
      lines.length
        ? h("ul", {}, ...lines.map((line) => h("li", {}, h("code", {}, line))))
        : h("p", {}, "none: the request reaches the runtime as sent"),
      h(
        "details",
        {},
        h("summary", {}, "What the runtime receives"),
        h("pre", {}, JSON.stringify(this.received(target, draft), null, 2)),
      ),
    );
  }

  private bubble(role: string, text = ""): HTMLParagraphElement {
    const paragraph = h("p", { class: "text" }, text);
    this.transcript.append(
      h(
        "div",
        { class: `message ${role}` },
        h("span", { class: "who" }, role === "user" ? "you" : "model"),
        paragraph,
      ),
    );
    return paragraph;
  }

  private async ask(): Promise<void> {
    const target = this.chosen();
    const content = this.input.value.trim();
    if (!target || !content) return;
    this.messages.push({ role: "user", content });
    this.bubble("user", content);
    this.input.value = "";
    const answer = this.bubble("assistant");
    const usage = h("p", { class: "usage", role: "status" });
    answer.after(usage);
    this.abort = new AbortController();
    this.send.disabled = true;
    this.stop.disabled = false;
    const path = target.agent
      ? `/agents/${encodeURIComponent(target.agent.name)}/v1/chat/completions`
      : "/v1/chat/completions";
    const sent = performance.now();
    let firstToken: number | undefined;
    let text = "";
    try {
      const response = await postJson(path, this.body(target, this.messages), this.abort.signal);
      const parser = new SseParser();
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const event of parser.feed(value)) {
          if (event.data === "[DONE]") continue;
          const chunk = JSON.parse(event.data) as Json;
          if (chunk.error)
            throw new Error((chunk.error as { message?: string }).message ?? "the stream failed");
          const delta = (
            chunk.choices as Array<{ delta?: { content?: string; reasoning_content?: string } }> | undefined
          )?.[0]?.delta;
          const piece = delta?.content ?? "";
          if (piece) {
            firstToken ??= performance.now();
            text += piece;
            answer.textContent = text;
          }
          if (chunk.usage) usage.textContent = this.describeUsage(chunk.usage as Json, firstToken);
        }
      }
      this.messages.push({ role: "assistant", content: text });
    } catch (error) {
      usage.textContent = this.abort.signal.aborted ? "stopped" : `failed: ${(error as Error).message}`;
      usage.classList.add("error");
      if (text) this.messages.push({ role: "assistant", content: text });
    } finally {
      if (!usage.textContent)
        usage.textContent = `answered in ${formatNumber((performance.now() - sent) / 1000, 1)} s`;
      this.send.disabled = false;
      this.stop.disabled = true;
      this.showRules();
    }
  }

  private describeUsage(usage: Json, firstToken: number | undefined): string {
    const completion = Number(usage.completion_tokens ?? 0);
    const cached = (usage.prompt_tokens_details as Json | undefined)?.cached_tokens;
    const seconds = firstToken === undefined ? 0 : (performance.now() - firstToken) / 1000;
    return [
      `prompt ${usage.prompt_tokens}${cached === undefined ? "" : ` (${cached} cached)`}`,
      `completion ${completion}`,
      seconds > 0 ? `${formatNumber(completion / seconds, 1)} tok/s` : "",
    ]
      .filter(Boolean)
      .join(" · ");
  }
}
