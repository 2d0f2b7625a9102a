// Signing in to the studio as marketers do, for the studio's browser tests.

/**
 * A fresh browser context signed in to `edge`'s studio for site demo with
 * `key` (the role it opens) as `name`, on the campaign list. `errors`
 * collects the page's uncaught errors and anything its content security
 * policy blocks (frames included).
 */
export async function studioSignIn(browser, edge, key, name, { height = 800 } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) errors.push(m.text()); });
  await page.goto(`${edge.url}/studio/`);
  await page.fill("#sign-in-site", "demo");
  await page.fill("#sign-in-name", name);
  await page.fill("#sign-in-key", key);
  await page.click("form.sign-in button[type=submit]");
  await page.waitForSelector("table.campaigns");
  return { context, page, errors };
}
