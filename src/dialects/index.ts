import { anthropic } from "./anthropic/index.ts";
import { gemini } from "./gemini/index.ts";
import { responses } from "./responses/index.ts";
import type { Translator } from "./types.ts";

/** Client dialects rig translates to Chat Completions, by the route's dialect. */
export const TRANSLATORS: Readonly<Record<string, Translator>> = {
  messages: anthropic,
  responses,
  gemini,
};
