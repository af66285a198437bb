import type { StackView } from "../protocol.ts";
import { byId, h } from "./dom.ts";

/** Each agent: the one word that runs it, and the hops of `rig explain <agent>`. */
export function renderAgents(stack: StackView): void {
  const list = byId("agents-list");
  if (!stack.agents.length) {
    list.replaceChildren(
      h("p", {}, "No agents in rig.yaml yet: ", h("code", {}, "rig add agent <name> --harness H --server S")),
    );
    return;
  }
  list.replaceChildren(
    ...stack.agents.map((agent) =>
      h(
        "article",
        { class: "agent", "aria-label": `agent ${agent.name}` },
        h("h3", {}, h("code", {}, agent.name), ` ${agent.harness} → ${agent.server}`),
        h(
          "p",
          {},
          "Run it with ",
          h("code", {}, agent.name),
          agent.shim.exists ? ` (${agent.shim.path})` : " once its shim is written: ",
          agent.shim.exists ? null : h("code", {}, "rig shims sync"),
        ),
        h(
          "ol",
          { class: "chain" },
          ...agent.chain.map((hop) =>
            h(
              "li",
              {},
              h("span", { class: "step" }, hop.step),
              h("div", {}, ...hop.lines.map((line) => h("code", {}, line))),
            ),
          ),
        ),
      ),
    ),
  );
}
