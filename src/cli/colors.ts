import { stripVTControlCharacters, styleText } from "node:util";

// Colour only for a terminal, and never under NO_COLOR; node's own styleText keeps the CLI's
// startup free of CommonJS interop.
const enabled =
  !process.env.NO_COLOR &&
  process.env.FORCE_COLOR !== "0" &&
  Boolean(process.env.FORCE_COLOR || (process.stdout.isTTY && process.stderr.isTTY));

const style =
  (format: Parameters<typeof styleText>[0]) =>
  (text: string | number): string =>
    enabled ? styleText(format, String(text)) : String(text);

export const pc = {
  bold: style("bold"),
  dim: style("dim"),
  red: style("red"),
  green: style("green"),
  yellow: style("yellow"),
  cyan: style("cyan"),
};

/** Text someone else coloured (citty's help and errors) as rig's own output would be: plain unless rig colours. */
export function inRigColors(text: string): string {
  return enabled ? text : stripVTControlCharacters(text);
}
