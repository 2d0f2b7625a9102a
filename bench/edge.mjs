// Edge figures (issue #3): /v1/events throughput and latency against an empty
// Worker on the same local workerd, in one run, and CPU per event. Local
// `wrangler dev` adds its own proxy, so the ratio is the figure that travels,
// not the absolute numbers.
//
//   cargo xtask bench        (needs `wrk`, installed by the command)
import { SECONDS, measure } from "./load.mjs";
import { FORWARD_SECRET, startEdge } from "../tests/support/edge.mjs";
import { startSink } from "../tests/support/sink.mjs";
import { forwardingThroughput } from "./forwarding.mjs";

/** Median time from a 202 on /v1/events to the event arriving at a destination. */
async function forwardingDelay(edge, runs = 15) {
  const arrivals = new Map();
  const sink = await startSink((id) => { arrivals.set(id, performance.now()); return 200; });
  const destinations = { destinations: [{ id: "bench", kind: "webhook", url: `${sink.url}/bench`, events: ["*"], consent: "none", credential: FORWARD_SECRET }] };
  await edge.admin("/v1/admin/sites/demo/destinations", { method: "PUT", body: JSON.stringify(destinations) });
  const delays = [];
  for (let i = 0; i < runs; i++) {
    const id = `fwd-bench-${i}-${Date.now()}`;
    const event = { type: "track", event: "Order Completed", messageId: id, anonymousId: "bench", timestamp: new Date().toISOString(), properties: { total: 10 } };
    const r = await fetch(`${edge.url}/v1/events?site=demo`, { method: "POST", body: JSON.stringify({ batch: [event] }) });
    const acknowledged = performance.now();
    if (r.status !== 202) throw new Error(`collect answered ${r.status}`);
    while (!arrivals.has(id)) await new Promise((res) => setTimeout(res, 5));
    delays.push(arrivals.get(id) - acknowledged);
  }
  await sink.close();
  delays.sort((a, b) => a - b);
  return { p50: delays[Math.floor(runs / 2)], max: delays[runs - 1] };
}

// The bench measures accepted events, never refusals: the request limits
// off and the store's per-minute event budgets raised far past what one
// machine can send (stated with the table). Each run must answer 2xx only.
const LIMITS = { RATE_LIMITS: "off", EVENTS_PER_MINUTE_PER_CLIENT: "100000000", EVENTS_PER_MINUTE_PER_SITE: "100000000" };
const nudge = await startEdge({ vars: LIMITS });

/** How many events the site's store holds. Read again if need be: each
 *  keep-alive socket the local proxy closed while idle fails once. */
async function storedEvents(edge) {
  let error;
  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      return (await (await edge.admin("/v1/admin/sites/demo/events?limit=1")).json()).total;
    } catch (e) { error = e; }
  }
  throw error;
}
const empty = await startEdge({ config: "bench/empty-worker/wrangler.toml", seedDemo: false });
try {
  const before = await storedEvents(nudge);
  const forwarding = await forwardingDelay(nudge);
  const forwarded = await forwardingThroughput(nudge);
  // Throughput without destinations: forwarding happens off the request path.
  await nudge.admin("/v1/admin/sites/demo/destinations", { method: "PUT", body: JSON.stringify({ destinations: [] }) });
  const a = await measure(nudge, "/v1/events?site=demo");
  const b = await measure(empty, "/v1/events?site=demo");
  console.log(`## Edge figures (wrk -t2 -c16, ${SECONDS} s each, one new event per request from 500 anonymous ids, local workerd; limits for the bench: ${Object.entries(LIMITS).map(([k, v]) => `${k}=${v}`).join(", ")})\n`);
  console.log("| Worker | events/s | p50 | p99 | CPU ms / request (wrangler + workerd) | non-2xx |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const [name, r] of [["Nudge /v1/events", a], ["empty Worker", b]]) {
    console.log(`| ${name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms | ${r.cpuMsPerRequest.toFixed(2)} | ${r.non2xx} |`);
  }
  console.log(`\nThroughput ratio: ${((a.rps / b.rps) * 100).toFixed(0)}% of the empty Worker (goal >= 70%).`);
  console.log(`CPU added per event over the empty Worker: ${(a.cpuMsPerRequest - b.cpuMsPerRequest).toFixed(2)} ms.`);
  const stored = (await storedEvents(nudge)) - before;
  const sent = a.accepted + forwarded.total + 15;
  console.log(`Events stored by the run: ${stored}; accepted: ${sent} (wrk's warm-up and measured requests ${a.accepted}, the forwarding runs ${forwarded.total + 15}).`);
  if (a.non2xx > 0) console.log(`WARNING: ${a.non2xx} answers were not 2xx: the figure above counts refusals, not events.`);
  console.log(`Forwarding delay, 202 on /v1/events -> signed webhook received: median ${forwarding.p50.toFixed(0)} ms, max ${forwarding.max.toFixed(0)} ms (queue batch timeout 1 s).`);
  console.log(`Forwarding throughput: ${forwarded.arrived} of ${forwarded.total} events at a webhook in ${forwarded.seconds.toFixed(1)} s, ${forwarded.perSecond.toFixed(0)} events/s (batches of 50, one destination).`);
} finally {
  await nudge.stop();
  await empty.stop();
}
