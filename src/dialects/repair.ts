/**
 * Makes almost-JSON tool arguments parse: code fences, trailing commas, single-quoted strings,
 * unquoted keys, and arguments cut off before their closing quotes and brackets. Returns "{}" for
 * nothing at all, and the text unchanged when no repair makes it parse.
 */
export function repairJson(text: string): string {
  const trimmed = text
    .trim()
    .replace(/^```(?:json)?\s*/i, "")
    .replace(/\s*```$/, "");
  if (!trimmed) return "{}";
  if (parses(trimmed)) return trimmed;
  let candidate = trimmed
    .replace(/,\s*([}\]])/g, "$1")
    .replace(/([{,]\s*)([A-Za-z_][\w-]*)(\s*:)/g, '$1"$2"$3')
    .replace(/'([^'\\]*(?:\\.[^'\\]*)*)'/g, (_, inner: string) => JSON.stringify(inner.replace(/\\'/g, "'")));
  if (parses(candidate)) return candidate;
  candidate = closeOpen(candidate);
  return parses(candidate) ? candidate : trimmed;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Appends whatever closes the strings, objects and arrays left open at the end of the text. */
function closeOpen(text: string): string {
  const stack: string[] = [];
  let inString = false;
  let escaped = false;
  for (const char of text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (char === "\\") escaped = true;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    else if (char === "{") stack.push("}");
    else if (char === "[") stack.push("]");
    else if (char === "}" || char === "]") stack.pop();
  }
  let closed = text + (inString ? '"' : "");
  closed = closed.replace(/,\s*$/, "").replace(/:\s*$/, ": null");
  return closed + stack.reverse().join("");
}
