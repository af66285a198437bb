import { GATEWAY_LOG, type LogLines, logEventsPath, type StackView } from "../protocol.ts";
import { byId, setOptions } from "./dom.ts";

const KEPT_LINES = 1000;

/** The live log of the gateway or one server, streamed by the daemon as lines are written. */
export class LiveLog {
  private readonly source = byId<HTMLSelectElement>("log-source");
  private readonly follow = byId<HTMLInputElement>("log-follow");
  private readonly output = byId<HTMLPreElement>("log-lines");
  private events?: EventSource;
  private lines: string[] = [];

  constructor() {
    this.source.addEventListener("change", () => this.open());
  }

  setStack(stack: StackView): void {
    const before = this.source.value;
    setOptions(this.source, [
      { value: GATEWAY_LOG, label: "gateway" },
      ...stack.servers.map((server) => ({ value: server.name, label: server.name })),
    ]);
    if (!this.events || this.source.value !== before) this.open();
  }

  private open(): void {
    this.events?.close();
    this.lines = [];
    this.output.textContent = "";
    this.events = new EventSource(logEventsPath(this.source.value));
    this.events.addEventListener("lines", (event) => {
      const { lines, rotated } = JSON.parse((event as MessageEvent<string>).data) as LogLines;
      this.append(rotated ? ["── log rotated ──", ...lines] : lines);
    });
  }

  private append(lines: string[]): void {
    this.lines = [...this.lines, ...lines].slice(-KEPT_LINES);
    this.output.textContent = `${this.lines.join("\n")}\n`;
    if (this.follow.checked) this.output.scrollTop = this.output.scrollHeight;
  }
}
