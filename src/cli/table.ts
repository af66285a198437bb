import { stripVTControlCharacters } from "node:util";

/** Aligned plain-text columns (like `docker ps`): greppable, and no box drawing to copy around. */
export function table(head: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const cells = rows.map((row) =>
    row.map((cell) => (cell === null || cell === undefined ? "" : String(cell))),
  );
  const width = (text: string) => stripVTControlCharacters(text).length;
  const widths = head.map((title, column) =>
    Math.max(title.length, ...cells.map((row) => width(row[column] ?? ""))),
  );
  const line = (row: string[]) =>
    row
      .map((cell, column) =>
        column === row.length - 1 ? cell : cell + " ".repeat(widths[column]! - width(cell)),
      )
      .join("  ")
      .trimEnd();
  return [line(head.map((title) => title.toUpperCase())), ...cells.map(line)].join("\n");
}
