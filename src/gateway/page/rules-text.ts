import type { RequestRules } from "../../config/schema.ts";

/** A server's or agent's request rules in the words of `rig explain`, one line per kind of rule. */
export function describeRules(owner: string, rules: RequestRules): string[] {
  return [
    ...(rules.set ? [`${owner} set ${JSON.stringify(rules.set)} (wins over the client)`] : []),
    ...(rules.defaults
      ? [`${owner} defaults ${JSON.stringify(rules.defaults)} (only where the client is silent)`]
      : []),
    ...(rules.drop?.length ? [`${owner} drop ${rules.drop.join(", ")}`] : []),
  ];
}
