import { type InventoryView, PAGE_ROUTES } from "../protocol.ts";
import { getJson } from "./api.ts";
import { byId, formatBytes, h } from "./dom.ts";

/** The inventory of model files, scanned when the section is first seen or on request (it reads disks). */
export class Models {
  private readonly list = byId("models-list");
  private readonly summary = byId("models-summary");
  private readonly scan = byId<HTMLButtonElement>("models-scan");
  private scanned = false;

  constructor() {
    this.scan.addEventListener("click", () => void this.load());
    const observer = new IntersectionObserver((entries) => {
      if (!entries.some((entry) => entry.isIntersecting)) return;
      observer.disconnect();
      if (!this.scanned) void this.load();
    });
    observer.observe(byId("models"));
  }

  async load(): Promise<void> {
    this.scanned = true;
    this.scan.disabled = true;
    this.summary.textContent = "scanning…";
    try {
      this.render(await getJson<InventoryView>(PAGE_ROUTES.inventory));
    } catch (error) {
      this.summary.textContent = `scan failed: ${(error as Error).message}`;
    } finally {
      this.scan.disabled = false;
    }
  }

  private render(inventory: InventoryView): void {
    const total = inventory.models.reduce((sum, model) => sum + model.size, 0);
    const reclaimable = inventory.duplicates.reduce((sum, group) => sum + group.reclaimable, 0);
    this.summary.textContent = `${inventory.models.length} models, ${formatBytes(total)} under ${inventory.roots.join(", ")}${
      inventory.duplicates.length ? `; ${formatBytes(reclaimable)} in duplicate copies` : ""
    }`;
    const table = h(
      "table",
      {},
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["model", "format", "arch", "params", "quant", "context", "size", "used by"].map((title) =>
            h("th", { scope: "col" }, title),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        ...inventory.models.map((model) =>
          h(
            "tr",
            {},
            h(
              "td",
              { title: model.path },
              model.name,
              model.duplicate_of ? h("span", { class: "warning" }, ` copy of ${model.duplicate_of}`) : null,
              model.links.length ? h("span", { class: "dim" }, ` +${model.links.length} links`) : null,
              model.error ? h("span", { class: "error" }, ` unreadable: ${model.error}`) : null,
            ),
            h("td", {}, model.format),
            h("td", {}, model.arch ?? ""),
            h("td", {}, model.params ?? ""),
            h("td", {}, model.quant ?? ""),
            h("td", { class: "number" }, model.context ?? ""),
            h("td", { class: "number" }, formatBytes(model.size)),
            h("td", {}, model.used_by.join(", ") || "—"),
          ),
        ),
      ),
    );
    const duplicates = inventory.duplicates.map((group) =>
      h(
        "li",
        {},
        `${formatBytes(group.size)} × ${group.copies.length + 1} (${group.verified ? "sha256 verified" : "sampled hashes"}): keep `,
        h("code", {}, group.keep),
        ", copies ",
        ...group.copies.flatMap((copy, index) => [index ? ", " : "", h("code", {}, copy)]),
      ),
    );
    this.list.replaceChildren(
      h("div", { class: "scroll" }, table),
      ...(duplicates.length ? [h("h3", {}, "Duplicates"), h("ul", {}, ...duplicates)] : []),
    );
  }
}
