// `cargo xtask demo`: the edge Worker on local workerd at http://127.0.0.1:8787,
// serving the demo shop and the agent, with the example campaigns loaded.
// Journeys' messages go to a local inbox that prints them here (destinations
// `email` and `sms`), and the templates' coupon pools are filled.
// Ctrl+C stops it (and the workerd it started).
import { createServer } from "node:http";
import { ADMIN_TOKEN, FORWARD_SECRET, siteKeys, startEdge } from "./edge.mjs";

// The stand-in for the shop's email and SMS tools: prints each message.
const inbox = createServer(async (req, res) => {
  let body = "";
  for await (const chunk of req) body += chunk;
  try {
    const event = JSON.parse(body);
    const props = event.properties || {};
    const extra = [props.coupon?.code && `coupon ${props.coupon.code}`, props.cart?.products?.length && `cart of ${props.cart.products.length}`]
      .filter(Boolean).join(", ");
    console.log(`[inbox ${req.url.slice(1)}] ${event.event} for ${event.userId || event.anonymousId}${extra ? ` (${extra})` : ""}`);
  } catch {
    console.log(`[inbox ${req.url}] ${body.slice(0, 200)}`);
  }
  res.writeHead(200).end();
});
await new Promise((resolve) => inbox.listen(0, "127.0.0.1", resolve));
const inboxUrl = `http://127.0.0.1:${inbox.address().port}`;

const edge = await startEdge({ port: 8787 });
const put = (path, body) => edge.admin(`/v1/admin/sites/demo/${path}`, { method: "PUT", body: JSON.stringify(body) });
const inboxFor = (id) => ({ id, kind: "webhook", url: `${inboxUrl}/${id}`, events: [], consent: "marketing", credential: FORWARD_SECRET });
const setUp = await Promise.all([
  put("destinations", { destinations: [inboxFor("email"), inboxFor("sms")] }),
  ...["cart10", "winback15", "birthday"].map((pool) => put(`coupon-pools/${pool}`, {
    codes: Array.from({ length: 200 }, (_, i) => `${pool.toUpperCase()}-${String(i + 1).padStart(3, "0")}`),
  })),
]);
for (const r of setUp) if (r.status !== 200) console.error(`demo set-up: ${r.status} ${await r.text()}`);

console.log(`Nudge demo shop on ${edge.url}  (add ?nudge_debug=1 to see decisions in the console)`);
const keys = siteKeys("demo");
console.log(`Studio on ${edge.url}/studio  (site "demo"; sign in with your name and one of these access keys)`);
console.log(`  publisher (publish, pause, roll back): ${keys.publisher}`);
console.log(`  editor (drafts, preview links):        ${keys.editor}`);
console.log(`  viewer (reports only):                 ${keys.viewer}`);
console.log(`Admin API (scripts; not a studio key): ${ADMIN_TOKEN}`);
console.log(`Stored events: curl -H 'authorization: Bearer ${ADMIN_TOKEN}' ${edge.url}/v1/admin/sites/demo/events`);
console.log(`Journeys: turn one on in the studio (Journeys); what they send is printed here as [inbox …].`);
console.log(`  What would cart abandonment do? curl -X POST -H 'authorization: Bearer ${ADMIN_TOKEN}' ${edge.url}/v1/admin/sites/demo/journeys/cart-abandonment/dry-run`);
const stop = async () => { inbox.close(); await edge.stop(); process.exit(0); };
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
setInterval(() => {}, 1 << 30);
