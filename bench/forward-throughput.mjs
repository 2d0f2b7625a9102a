// Forwarding throughput alone (bench/edge.mjs's measure, `./forwarding.mjs`,
// without its wrk runs): `BATCHES` batches of `SIZE` new events to one
// webhook on a local sink; events per second from the first POST to the
// last arrival. `node bench/forward-throughput.mjs` (after `cargo xtask build-edge`).
import { startEdge } from "../tests/support/edge.mjs";
import { forwardingThroughput } from "./forwarding.mjs";

const BATCHES = Number(process.env.BATCHES || 20);
const SIZE = Number(process.env.SIZE || 50);
const LIMITS = { RATE_LIMITS: "off", EVENTS_PER_MINUTE_PER_CLIENT: "100000000", EVENTS_PER_MINUTE_PER_SITE: "100000000" };
const edge = await startEdge({ vars: LIMITS });
try {
  const r = await forwardingThroughput(edge, BATCHES, SIZE);
  console.log(`Forwarding throughput: ${r.arrived} of ${r.total} events at a webhook in ${r.seconds.toFixed(2)} s, ${r.perSecond.toFixed(0)} events/s (batches of ${SIZE}, one destination).`);
} finally {
  await edge.stop();
}
