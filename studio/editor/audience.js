// Who sees the campaign: the rule builder (../rules.js) over `audience`.

import { h } from "../ui.js";
import { ruleBuilder } from "../rules.js";
import { section } from "./section.js";

export function audienceSection(ctx) {
  return section(ctx, { title: "Audience", id: "sec-audience", hint: "Who sees the campaign. Rules in a group must all match; any one group is enough." }, () => {
    const groups = Object.keys(ctx.savedGroups || {});
    return [
      ruleBuilder(ctx),
      groups.length
        ? h("p", { class: "hint" }, `Saved groups on this site: ${groups.join(", ")}. Use “is in the saved group” on the visitor id to target one.`)
        : null,
    ];
  });
}
