import { test } from "node:test";
import assert from "node:assert/strict";
import { launch, open, shownCampaigns, waitForCampaign, campaignDom, scrollTo } from "./harness.mjs";

test("smoke", async () => {
  const shop = await launch();
  try {
    const { page, console: log, errors } = await shop.visitor();
    await open(page, shop.server.url + "/?nudge_debug=1");
    await page.mouse.move(400, 300);
    await scrollTo(page, 30);
    await waitForCampaign(page, "welcome");
    console.log(await shownCampaigns(page));
    console.log(JSON.stringify(await campaignDom(page, "welcome")).slice(0, 600));
    console.log(log.join("\n"), errors);
  } finally {
    await shop.close();
  }
});
