const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;

/** The longest delay a timer holds (setTimeout's 32 bits, 24.8 days): a longer one fires at once. */
export const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** "30m", "90s", "1.5h", a bare number of seconds, or 0 (never). Returns milliseconds. */
export function parseDuration(value: string | number): number {
  if (typeof value === "number") return value * 1000;
  const match = DURATION_PATTERN.exec(value.trim());
  if (!match) throw new Error(`not a duration: "${value}" (use e.g. 90s, 30m, 2h)`);
  return Number(match[1]) * UNITS[match[2] ?? "s"]!;
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KIB: 1024,
  MIB: 1024 ** 2,
  GIB: 1024 ** 3,
};

export const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?$/i;

/** "50MB", "1GiB" or a number of bytes. */
export function parseSize(value: string | number): number {
  if (typeof value === "number") return value;
  const match = SIZE_PATTERN.exec(value.trim());
  if (!match) throw new Error(`not a size: "${value}" (use e.g. 512KB, 50MB, 1GiB)`);
  return Math.round(Number(match[1]) * SIZE_UNITS[(match[2] ?? "").toUpperCase()]!);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ""}`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ""}`;
}

/** Bytes in decimal units, as disks and model cards count them: 4.37 GB. */
export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(value >= 10 ? 1 : 2)} ${units[unit]}`;
}

const TOKEN_COUNT_PATTERN = /^(\d+(?:\.\d+)?)(k)?$/i;

/** "4k" → 4096, "32K" → 32768, "1500" → 1500. */
export function parseTokenCount(text: string): number | undefined {
  const match = TOKEN_COUNT_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const value = Math.round(Number(match[1]) * (match[2] ? 1024 : 1));
  return value > 0 ? value : undefined;
}

/** 4096 → "4k", 1500 → "1500": how contexts are shown. */
export function formatTokenCount(tokens: number): string {
  return tokens % 1024 === 0 ? `${tokens / 1024}k` : String(tokens);
}
