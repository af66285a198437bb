// A few DOM helpers instead of a view library: the page is six tables and a form.

import { formatSize } from "../../../config/duration.ts";

type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

/** Creates an element: `on*` attributes become listeners, `false`/`null` attributes are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === "function") element.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) element.setAttribute(name, "");
    else if (value !== false && value !== null && value !== undefined)
      element.setAttribute(name, String(value));
  }
  element.append(
    ...children
      .filter(
        (child): child is Node | string | number => child !== null && child !== undefined && child !== false,
      )
      .map((child) => (typeof child === "number" ? String(child) : child)),
  );
  return element;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element as T;
}

/** Replaces a select's options, keeping the chosen value when it is still offered. */
export function setOptions(
  select: HTMLSelectElement,
  options: Array<{ value: string; label: string }>,
): void {
  const chosen = select.value;
  select.replaceChildren(...options.map((option) => h("option", { value: option.value }, option.label)));
  if (options.some((option) => option.value === chosen)) select.value = chosen;
}

export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** Sizes in the decimal units the CLI prints (`formatSize`), so the page and `rig ls` agree. */
export function formatBytes(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? "" : formatSize(bytes);
}

export function formatNumber(value: number | null | undefined, digits = 0): string {
  return value === null || value === undefined ? "" : value.toFixed(digits);
}

export function formatTime(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour12: false });
}

/** The last part of a path: model files are long, their names are what people recognise. */
export function baseName(path: string): string {
  return path.replace(/\/+$/, "").split("/").pop() ?? path;
}
