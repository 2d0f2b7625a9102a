// Edge figures (issue #3): /v1/events throughput and latency against an empty
// Worker on the same local workerd, in one run, and CPU per event. Local
// `wrangler dev` adds its own proxy, so the ratio is the figure that travels,
// not the absolute numbers.
//
//   cargo xtask bench        (needs `wrk`, installed by the command)
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { startEdge } from "../tests/support/edge.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const TICKS = 100; // clock ticks per second (Linux default, CLK_TCK)

/** CPU seconds used so far by every process in `pgid` (wrangler, workerd). */
function groupCpu(pgid) {
  let ticks = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      if (Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
    } catch { /* gone */ }
  }
  return ticks / TICKS;
}

function wrk(url, seconds) {
  const out = execFileSync("wrk", ["-t2", "-c16", `-d${seconds}s`, "--latency", "-s", "bench/events.lua", url], { encoding: "utf8" });
  const ms = (text) => {
    const [, n, unit] = text.match(/([\d.]+)(us|ms|s)/);
    return Number(n) * ({ us: 0.001, ms: 1, s: 1000 }[unit]);
  };
  const pct = (p) => ms(out.match(new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m"))[1]);
  const non2xx = Number((out.match(/Non-2xx or 3xx responses: (\d+)/) || [0, 0])[1]);
  const total = Number(out.match(/(\d+) requests in/)[1]);
  return { rps: Number(out.match(/Requests\/sec:\s+([\d.]+)/)[1]), p50: pct(50), p99: pct(99), total, non2xx };
}

async function measure(edge, path) {
  wrk(`${edge.url}${path}`, 2); // warm-up
  const cpu0 = groupCpu(edge.pid);
  const result = wrk(`${edge.url}${path}`, SECONDS);
  result.cpuMsPerRequest = ((groupCpu(edge.pid) - cpu0) * 1000) / result.total;
  return result;
}

const nudge = await startEdge({ vars: { EVENTS_RATE_LIMIT: "off" } });
const empty = await startEdge({ config: "bench/empty-worker/wrangler.toml", seedDemo: false });
try {
  const a = await measure(nudge, "/v1/events?site=demo");
  const b = await measure(empty, "/v1/events?site=demo");
  console.log(`## Edge figures (wrk -t2 -c16, ${SECONDS} s each, one new event per request, local workerd)\n`);
  console.log("| Worker | events/s | p50 | p99 | CPU ms / request (wrangler + workerd) | non-2xx |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const [name, r] of [["Nudge /v1/events", a], ["empty Worker", b]]) {
    console.log(`| ${name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms | ${r.cpuMsPerRequest.toFixed(2)} | ${r.non2xx} |`);
  }
  console.log(`\nThroughput ratio: ${((a.rps / b.rps) * 100).toFixed(0)}% of the empty Worker (goal >= 70%).`);
  console.log(`CPU added per event over the empty Worker: ${(a.cpuMsPerRequest - b.cpuMsPerRequest).toFixed(2)} ms.`);
  const stored = await nudge.admin("/v1/admin/sites/demo/events").then((r) => r.json()).catch((e) => ({ total: `unavailable (${e.cause?.code || e})` }));
  console.log(`Events stored by the run: ${stored.total} (each request one new event).`);
} finally {
  await nudge.stop();
  await empty.stop();
}
