const OPEN = "<think>";
const CLOSE = "</think>";

export type Part = { kind: "text" | "reasoning"; text: string };

/**
 * Splits `<think>…</think>` out of streamed text, tags split across chunks included. When thinking
 * was asked for, the start of a stream is held back (up to `holdChars`) so that a template which
 * opened the tag itself (only `</think>` appears) still yields reasoning, not text.
 */
export class ThinkSplitter {
  private inside = false;
  private pending = "";
  private held = "";
  private holding: boolean;

  constructor(private readonly holdChars = 0) {
    this.holding = holdChars > 0;
  }

  push(text: string): Part[] {
    if (this.holding) {
      this.held += text;
      const close = this.held.indexOf(CLOSE);
      const open = this.held.indexOf(OPEN);
      if (close !== -1 && (open === -1 || close < open)) {
        this.holding = false;
        const reasoning = this.held.slice(0, close);
        const rest = this.held.slice(close + CLOSE.length).replace(/^\s+/, "");
        this.held = "";
        return [
          ...(reasoning.trim() ? [{ kind: "reasoning" as const, text: reasoning }] : []),
          ...this.split(rest),
        ];
      }
      if (open !== -1 || this.held.length >= this.holdChars) {
        this.holding = false;
        const all = this.held;
        this.held = "";
        return this.split(all);
      }
      return [];
    }
    return this.split(text);
  }

  /** Stops holding the start back (the answer has moved on, to a tool call) and returns what was held. */
  release(): Part[] {
    if (!this.holding) return [];
    this.holding = false;
    const held = this.held;
    this.held = "";
    return this.split(held);
  }

  private split(text: string): Part[] {
    const out: Part[] = [];
    let rest = this.pending + text;
    this.pending = "";
    while (rest) {
      const tag = this.inside ? CLOSE : OPEN;
      const at = rest.indexOf(tag);
      if (at === -1) {
        let keep = 0;
        for (let length = Math.min(tag.length - 1, rest.length); length > 0; length--) {
          if (tag.startsWith(rest.slice(-length))) {
            keep = length;
            break;
          }
        }
        const emit = rest.slice(0, rest.length - keep);
        this.pending = rest.slice(rest.length - keep);
        if (emit) out.push({ kind: this.inside ? "reasoning" : "text", text: emit });
        break;
      }
      const before = rest.slice(0, at);
      if (before.trim()) out.push({ kind: this.inside ? "reasoning" : "text", text: before });
      this.inside = !this.inside;
      rest = rest.slice(at + tag.length);
      if (!this.inside) rest = rest.replace(/^\s+/, "");
    }
    return out;
  }

  flush(): Part[] {
    const text = this.held + this.pending;
    this.held = "";
    this.pending = "";
    this.holding = false;
    return text ? [{ kind: this.inside ? "reasoning" : "text", text }] : [];
  }
}
