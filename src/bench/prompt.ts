// Prompts of a given length in tokens, without a tokenizer: short common English words are one token
// each (with their leading space) in the vocabularies of every common model family, so a prompt of N
// such words is about N tokens plus what the chat template adds. Two probe requests measure both for
// the model at hand, and every measured request's reported prompt size is checked against its target.

const WORDS = (
  "apple river stone cloud green table music paper light water house garden window summer winter " +
  "morning evening city road bridge forest mountain ocean island market school letter story number " +
  "color money friend family dinner coffee bread chair door field horse plant sound voice world " +
  "train glass metal floor wall shirt watch phone street night north south east west"
).split(" ");

/**
 * The number that opens a measured request's prompt: it differs per request, so a runtime's prompt
 * cache (which reuses the longest common prefix) never serves one measured before.
 */
export function requestMark(requestNumber: number): string {
  return `Request ${String(requestNumber).padStart(6, "0")}.`;
}

/**
 * `count` filler words after a request number: the number differs per request, so a runtime's prompt
 * cache (which reuses the longest common prefix) never serves a measured prompt.
 */
export function fillerPrompt(count: number, requestNumber: number): string {
  const words = Array.from({ length: count }, (_, index) => WORDS[index % WORDS.length]);
  return `${requestMark(requestNumber)} Continue this list of words: ${words.join(" ")}`;
}

/** The probe sizes, in words: small enough to be cheap, far enough apart to measure tokens per word. */
export const PROBE_WORDS = [64, 256] as const;

/** Prompt tokens as a function of filler words, for one model and chat template. */
export interface PromptScale {
  /** Tokens the template and the prompt's own words add. */
  overhead: number;
  perWord: number;
  /** False when the runtime reported no prompt tokens: the scale is a guess of one token per word. */
  reported: boolean;
}

/** The scale from the two probes' reported prompt tokens (undefined when a runtime does not report them). */
export function promptScale(reported: ReadonlyArray<number | undefined>): PromptScale {
  const [small, large] = reported;
  if (small === undefined || large === undefined || large <= small)
    return { overhead: 0, perWord: 1, reported: false };
  const perWord = (large - small) / (PROBE_WORDS[1] - PROBE_WORDS[0]);
  return { overhead: small - perWord * PROBE_WORDS[0], perWord, reported: true };
}

/**
 * The filler words that make a request of `context` tokens: the prompt fills what the answer of
 * `maxTokens` leaves, so the request fits a server whose context is exactly `context`.
 */
export function wordsFor(context: number, maxTokens: number, scale: PromptScale): number {
  return Math.floor((context - maxTokens - scale.overhead) / scale.perWord);
}

/** How far a prompt's reported size may be from its target before the measurement is flagged. */
export function promptOnTarget(reported: number, target: number): boolean {
  return Math.abs(reported - target) <= Math.max(8, target * 0.03);
}
