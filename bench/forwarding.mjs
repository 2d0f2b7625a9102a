// Forwarding throughput, shared by bench/edge.mjs and
// bench/forward-throughput.mjs (the same measure, alone).
import { FORWARD_SECRET } from "../tests/support/edge.mjs";
import { startSink } from "../tests/support/sink.mjs";

/**
 * Forwarding throughput: `batches` batches of `size` new events, each to one
 * webhook destination; events per second from the first POST to the last
 * arrival at the sink (the queue's batching and the consumer's store calls).
 */
export async function forwardingThroughput(edge, batches = 20, size = 50) {
  const arrived = new Set();
  const sink = await startSink((id) => { arrived.add(id); return 200; });
  const destinations = { destinations: [{ id: "bench", kind: "webhook", url: `${sink.url}/bench`, events: ["*"], consent: "none", credential: FORWARD_SECRET }] };
  await edge.admin("/v1/admin/sites/demo/destinations", { method: "PUT", body: JSON.stringify(destinations) });
  const run = Date.now();
  const start = performance.now();
  for (let b = 0; b < batches; b++) {
    const batch = Array.from({ length: size }, (_, i) => ({
      type: "track", event: "Product Viewed", messageId: `fwd-tp-${run}-${b}-${i}`, anonymousId: `tp-${run}-${b}`,
      timestamp: new Date().toISOString(), properties: { product_id: `p${i}` },
    }));
    const r = await fetch(`${edge.url}/v1/events?site=demo`, { method: "POST", body: JSON.stringify({ batch }) });
    if (r.status !== 202) throw new Error(`collect answered ${r.status}`);
  }
  const total = batches * size;
  const deadline = performance.now() + 120_000;
  while (arrived.size < total && performance.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  const seconds = (performance.now() - start) / 1000;
  await sink.close();
  return { total, arrived: arrived.size, seconds, perSecond: arrived.size / seconds };
}
