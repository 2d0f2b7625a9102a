// The edge at its input limits (issue #8): what the largest request the edge
// accepts, and the worst ones it refuses, cost. Requests are sent one at a
// time, so on a quiet machine each request's wall time bounds its CPU time
// from above; workerd's CPU over the run (the Worker and its Durable Object,
// apart from wrangler's local proxy), divided by the requests, is the mean.
//
//   cargo xtask bench   (or: node bench/edge-limits.mjs after cargo xtask build-edge)
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { startEdge } from "../tests/support/edge.mjs";

const RUNS = Number(process.env.BENCH_LIMIT_RUNS || 40);
const TICKS = 100; // clock ticks per second (CLK_TCK)

/** CPU seconds so far of the processes in `pgid`: workerd (the Worker and
 * its Durable Object) apart from the rest (wrangler's local proxy, Node). */
function groupCpu(pgid) {
  const ticks = { workerd: 0, other: 0 };
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
      if (Number(fields[2]) === pgid) ticks[name === "workerd" ? "workerd" : "other"] += Number(fields[11]) + Number(fields[12]);
    } catch { /* gone */ }
  }
  return { workerd: ticks.workerd / TICKS, other: ticks.other / TICKS };
}

let counter = 0;
/** An event padded to about `bytes` of JSON with several strings (each within the string limit). */
function event(bytes) {
  const id = `lim-${process.pid}-${++counter}`;
  const base = { type: "track", event: "Product Viewed", messageId: id, anonymousId: `lim-${counter % 50}`,
    timestamp: new Date().toISOString(), properties: { product_id: "trail-runner", price: 129 }, context: { page: { path: "/p" } } };
  const room = bytes - JSON.stringify(base).length - 40;
  for (let i = 0; room > 0 && i * 1000 < room; i++) base.properties[`note${i}`] = "x".repeat(Math.min(1000, room - i * 1000));
  return base;
}

const shapes = {
  // Accepted: the largest batch (100 events) that fits the 256 KB body limit.
  "max batch: 100 events, 250 KB (accepted)": () => JSON.stringify({ batch: Array.from({ length: 100 }, () => event(2_450)) }),
  // Accepted: few, large events (each just under the 32 KB event limit).
  "7 events of 32 KB, 230 KB (accepted)": () => JSON.stringify({ batch: Array.from({ length: 7 }, () => event(32_000)) }),
  // Refused: the shapes that cost super-linear time before the limits.
  "one object with 20,000 keys, 190 KB (refused 400)": () => `{"batch":[{${Array.from({ length: 20_000 }, (_, i) => `"k${i}":0`).join(",")}}]}`,
  "nesting 100,000 deep, 200 KB (refused 400)": () => `{"batch":[${"[".repeat(100_000)}${"]".repeat(100_000)}]}`,
  "20,000 one-key objects in one array (refused 400)": () => `{"batch":[${Array.from({ length: 20_000 }, () => '{"a":1}').join(",")}]}`,
  "300 KB body (refused 413)": () => JSON.stringify({ batch: [event(300_000)] }),
};

const edge = await startEdge({ vars: { RATE_LIMITS: "off", EVENTS_PER_MINUTE_PER_CLIENT: "100000000", EVENTS_PER_MINUTE_PER_SITE: "100000000" } });
try {
  console.log(`## The edge at its limits (${RUNS} sequential requests per shape, local workerd)\n`);
  console.log("| request | status | body | wall p50 | wall max | workerd CPU ms / request (mean) | wrangler proxy CPU ms / request |");
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const [name, make] of Object.entries(shapes)) {
    const bodies = Array.from({ length: RUNS + 3 }, make);
    for (const body of bodies.slice(0, 3)) await fetch(`${edge.url}/v1/events?site=demo`, { method: "POST", body }); // warm-up
    const cpu0 = groupCpu(edge.pid);
    const walls = [];
    let status;
    for (const body of bodies.slice(3)) {
      const t0 = performance.now();
      const r = await fetch(`${edge.url}/v1/events?site=demo`, { method: "POST", body });
      await r.arrayBuffer();
      walls.push(performance.now() - t0);
      status = r.status;
    }
    const cpu1 = groupCpu(edge.pid);
    const per = (k) => (((cpu1[k] - cpu0[k]) * 1000) / RUNS).toFixed(1);
    walls.sort((a, b) => a - b);
    const kb = (bodies[0].length / 1024).toFixed(0);
    console.log(`| ${name} | ${status} | ${kb} KB | ${walls[Math.floor(RUNS / 2)].toFixed(1)} ms | ${walls[RUNS - 1].toFixed(1)} ms | ${per("workerd")} | ${per("other")} |`);
  }
  // Under load: wrk keeps 8 max-size batches in flight (bench/events-max.lua).
  if (existsSync("/usr/bin/wrk")) {
    const seconds = Number(process.env.BENCH_SECONDS || 10);
    const cpu0 = groupCpu(edge.pid);
    const out = execFileSync("wrk", ["-t2", "-c8", `-d${seconds}s`, "--latency", "-s", "bench/events-max.lua", `${edge.url}/v1/events?site=demo`], { encoding: "utf8" });
    const cpu1 = groupCpu(edge.pid);
    const total = Number(out.match(/(\d+) requests in/)[1]);
    const non2xx = Number((out.match(/Non-2xx or 3xx responses: (\d+)/) || [0, 0])[1]);
    const pct = (p) => out.match(new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m"))[1];
    console.log(`\nUnder load (wrk -t2 -c8, ${seconds} s, max batches of 100 events): ${Number(out.match(/Requests\/sec:\s+([\d.]+)/)[1]).toFixed(1)} requests/s ` +
      `(${(Number(out.match(/Requests\/sec:\s+([\d.]+)/)[1]) * 100).toFixed(0)} events/s), p50 ${pct(50)}, p99 ${pct(99)}, ` +
      `workerd CPU ${(((cpu1.workerd - cpu0.workerd) * 1000) / total).toFixed(1)} ms per request, non-2xx ${non2xx}.`);
  }
} finally {
  await edge.stop();
}
