// Issue #22's overhead figures on local workerd: /v1/events with the demo
// site in one Durable Object and spread over 64, in one run, interleaved
// (1, 64, 1, 64). workerd runs every object on one thread, so this shows
// what routing over objects costs (requests/s, CPU per request), not the
// scaling, which needs Cloudflare (ARCHITECTURE.md). Accepted events only:
// the limits are off and the budgets raised, and each run must answer 2xx.
//
//   cargo xtask build-edge && node bench/objects.mjs     (needs wrk)
import { SECONDS, measure } from "./load.mjs";
import { startEdge } from "../tests/support/edge.mjs";

const LIMITS = { RATE_LIMITS: "off", EVENTS_PER_MINUTE_PER_CLIENT: "100000000", EVENTS_PER_MINUTE_PER_SITE: "100000000" };
const ROUNDS = Number(process.env.BENCH_ROUNDS || 2);

const runs = { 1: [], 64: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const objects of [1, 64]) {
    const edge = await startEdge({ vars: { ...LIMITS, SITE_SHARDS: String(objects) } });
    try {
      runs[objects].push(await measure(edge, "/v1/events?site=demo"));
    } finally {
      await edge.stop();
    }
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(`## One site over 64 objects against one (wrk -t2 -c16, ${SECONDS} s each, ${ROUNDS} rounds interleaved, one new event per request from 500 anonymous ids, local workerd)\n`);
console.log("| objects per site | events/s (each run) | p50 | p99 | CPU ms / request (wrangler + workerd) | non-2xx |");
console.log("|---:|---|---:|---:|---:|---:|");
for (const objects of [1, 64]) {
  const r = runs[objects];
  console.log(`| ${objects} | ${r.map((x) => x.rps.toFixed(0)).join(", ")} | ${median(r.map((x) => x.p50)).toFixed(2)} ms | ${median(r.map((x) => x.p99)).toFixed(2)} ms | ${median(r.map((x) => x.cpuMsPerRequest)).toFixed(2)} | ${r.reduce((n, x) => n + x.non2xx, 0)} |`);
}
const rps = (objects) => median(runs[objects].map((x) => x.rps));
const cpu = (objects) => median(runs[objects].map((x) => x.cpuMsPerRequest));
console.log(`\n64 objects: ${(rps(64) / rps(1)).toFixed(2)}x one object's events/s (goal >= 0.9), ${(cpu(64) / cpu(1)).toFixed(2)}x its CPU per request (goal <= 1.1).`);
if (runs[1].concat(runs[64]).some((x) => x.non2xx > 0)) console.log("WARNING: some answers were not 2xx: the figures count refusals.");
