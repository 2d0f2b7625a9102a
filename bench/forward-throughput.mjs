// Forwarding throughput alone (the same measure as bench/edge.mjs's, without
// its wrk runs): `BATCHES` batches of `SIZE` new events to one webhook on a
// local sink; events per second from the first POST to the last arrival.
// `node bench/forward-throughput.mjs` (after `cargo xtask build-edge`).
import { FORWARD_SECRET, startEdge } from "../tests/support/edge.mjs";
import { startSink } from "../tests/support/sink.mjs";

const BATCHES = Number(process.env.BATCHES || 20);
const SIZE = Number(process.env.SIZE || 50);
const LIMITS = { RATE_LIMITS: "off", EVENTS_PER_MINUTE_PER_CLIENT: "100000000", EVENTS_PER_MINUTE_PER_SITE: "100000000" };
const edge = await startEdge({ vars: LIMITS });
try {
  const arrived = new Set();
  const sink = await startSink((id) => { arrived.add(id); return 200; });
  const destinations = { destinations: [{ id: "bench", kind: "webhook", url: `${sink.url}/bench`, events: ["*"], consent: "none", credential: FORWARD_SECRET }] };
  await edge.admin("/v1/admin/sites/demo/destinations", { method: "PUT", body: JSON.stringify(destinations) });
  const run = Date.now();
  const start = performance.now();
  for (let b = 0; b < BATCHES; b++) {
    const batch = Array.from({ length: SIZE }, (_, i) => ({
      type: "track", event: "Product Viewed", messageId: `fwd-tp-${run}-${b}-${i}`, anonymousId: `tp-${run}-${b}`,
      timestamp: new Date().toISOString(), properties: { product_id: `p${i}` },
    }));
    const r = await fetch(`${edge.url}/v1/events?site=demo`, { method: "POST", body: JSON.stringify({ batch }) });
    if (r.status !== 202) throw new Error(`collect answered ${r.status}`);
  }
  const total = BATCHES * SIZE;
  const deadline = performance.now() + 120_000;
  while (arrived.size < total && performance.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  const seconds = (performance.now() - start) / 1000;
  await sink.close();
  console.log(`Forwarding throughput: ${arrived.size} of ${total} events at a webhook in ${seconds.toFixed(2)} s, ${(arrived.size / seconds).toFixed(0)} events/s (batches of ${SIZE}, one destination).`);
} finally {
  await edge.stop();
}
