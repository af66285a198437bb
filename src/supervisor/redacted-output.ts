import { StringDecoder } from "node:string_decoder";
import { hideSecrets, type Secret } from "../config/secrets.ts";

/**
 * One output stream of a runtime, with the config's secrets shown by name before it is written:
 * runtimes print their own settings (vLLM lists its non-default args, an `--api-key` among them).
 * A secret split across two chunks is still found: an end that could begin one is held back until
 * the next chunk, or the end of the stream.
 */
export class RedactedOutput {
  private readonly decoder = new StringDecoder("utf8");
  private held = "";

  constructor(
    private readonly secrets: readonly Secret[],
    private readonly write: (text: string) => void,
  ) {}

  push(chunk: Buffer): void {
    const text = hideSecrets(this.secrets, this.held + this.decoder.write(chunk));
    const keep = this.startOfSecretAtEnd(text);
    this.held = text.slice(text.length - keep);
    if (text.length > keep) this.write(text.slice(0, text.length - keep));
  }

  end(): void {
    const rest = this.held + this.decoder.end();
    this.held = "";
    if (rest) this.write(hideSecrets(this.secrets, rest));
  }

  /** The length of the longest end of `text` that is the start of a secret. */
  private startOfSecretAtEnd(text: string): number {
    const longest = Math.min(text.length, (this.secrets[0]?.[0].length ?? 1) - 1);
    for (let length = longest; length > 0; length--) {
      const end = text.slice(text.length - length);
      if (this.secrets.some(([secret]) => secret.startsWith(end))) return length;
    }
    return 0;
  }
}
