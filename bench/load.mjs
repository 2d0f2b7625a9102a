// Load for the edge benches: wrk against /v1/events (one new event per
// request, bench/events.lua) and the CPU the Worker's processes used.
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";

export const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const TICKS = 100; // clock ticks per second (Linux default, CLK_TCK)

/** CPU seconds used so far by every process in `pgid` (wrangler, workerd). */
export function groupCpu(pgid) {
  let ticks = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      if (Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
    } catch { /* gone */ }
  }
  return ticks / TICKS;
}

export function wrk(url, seconds) {
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

export async function measure(edge, path) {
  const warm = wrk(`${edge.url}${path}`, 2); // warm-up
  const cpu0 = groupCpu(edge.pid);
  const result = wrk(`${edge.url}${path}`, SECONDS);
  result.accepted = warm.total - warm.non2xx + result.total - result.non2xx;
  result.cpuMsPerRequest = ((groupCpu(edge.pid) - cpu0) * 1000) / result.total;
  return result;
}

