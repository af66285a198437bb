import { readFileSync, statSync } from "node:fs";
import { Document, isMap, isScalar, LineCounter, parseDocument, visit } from "yaml";
import { writeFileAtomic } from "../system/atomic-write.ts";

// Edits to rig.yaml are text insertions: every byte outside the inserted entry stays as the person
// wrote it (comments, blank lines, quoting, key order). yaml only tells where things are.

export type Section = "servers" | "agents";

/** The YAML of one entry, at column 0: servers in block style, agents on one line, lists inline. */
export function entryYaml(section: Section, name: string, value: Record<string, unknown>): string {
  const doc = new Document({ [name]: value });
  visit(doc, {
    Seq(_, node) {
      node.flow = true;
    },
    Map(_, node, path) {
      if (section === "agents" && path.length > 2) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: section === "agents" });
}

const indent = (text: string, by: number) =>
  text
    .trimEnd()
    .split("\n")
    .map((line) => " ".repeat(by) + line)
    .join("\n");

/** `text` with `name: value` appended to its `section` mapping (created at the end when absent). */
export function insertEntry(
  text: string,
  section: Section,
  name: string,
  value: Record<string, unknown>,
): string {
  const entry = entryYaml(section, name, value);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length) throw new Error(`rig.yaml does not parse: ${doc.errors[0]!.message.split("\n")[0]}`);
  const withNewline = text === "" || text.endsWith("\n") ? text : `${text}\n`;
  const pair = isMap(doc.contents)
    ? doc.contents.items.find((item) => isScalar(item.key) && item.key.value === section)
    : undefined;
  if (!pair) return `${withNewline}${section}:\n${indent(entry, 2)}\n`;
  const node = pair.value;
  const keyEnd = (pair.key as { range?: [number, number, number] }).range![1];
  const lineAfter = (offset: number) => {
    const newline = text.indexOf("\n", offset);
    return newline === -1 ? withNewline.length : newline + 1;
  };
  if (node === null || (isScalar(node) && node.value === null)) {
    const at = lineAfter(keyEnd);
    return `${withNewline.slice(0, at)}${indent(entry, 2)}\n${withNewline.slice(at)}`;
  }
  if (isMap(node) && node.flow && node.items.length === 0) {
    const [start, end] = node.range!;
    const at = lineAfter(end);
    return `${withNewline.slice(0, start).trimEnd()}${withNewline.slice(end, at)}${indent(entry, 2)}\n${withNewline.slice(at)}`;
  }
  if (!isMap(node) || node.flow)
    throw new Error(
      `\`${section}:\` is written in flow style ({ … }) in rig.yaml; write it as an indented block to let rig add entries`,
    );
  const last = node.items.at(-1)!;
  const lastEnd = (last.value as { range?: [number, number, number] } | null)?.range?.[1] ?? keyEnd;
  const column = lines.linePos((node.items[0]!.key as { range: [number, number, number] }).range[0]).col - 1;
  const at = text[lastEnd - 1] === "\n" ? lastEnd : lineAfter(lastEnd);
  return `${withNewline.slice(0, at)}${indent(entry, column)}\n${withNewline.slice(at)}`;
}

export interface WriteResult {
  backup?: string;
}

/**
 * Replaces rig.yaml with `text` atomically after copying the old one to rig.yaml.bak; refuses when
 * the file changed since `before` was read. The file keeps its mode, and a symlinked rig.yaml stays
 * a link: its target is what changes.
 */
export function writeConfigAtomically(file: string, before: string, text: string): WriteResult {
  const existing = statSync(file, { throwIfNoEntry: false });
  const current = existing ? readFileSync(file, "utf8") : "";
  if (current !== before)
    throw new Error(`${file} changed while rig was editing it; nothing was written, run the command again`);
  const backup = `${file}.bak`;
  if (existing) writeFileAtomic(backup, current, { mode: existing.mode & 0o7777 });
  writeFileAtomic(file, text);
  return { backup: existing ? backup : undefined };
}
