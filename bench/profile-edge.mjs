// Where `/v1/events`' CPU goes: a V8 sampling profile of the local Worker
// (and its Durable Objects, in the same isolate) under wrk load, taken
// through workerd's inspector, summed by function (self time). How
// BENCHMARKS §5 found the body streaming and the config fingerprint.
//
//   node bench/profile-edge.mjs [seconds]      (needs wrk, a built edge, and `ws`,
//                                               which wrangler's dependencies install)
import { execFileSync } from "node:child_process";
import WebSocket from "ws";
import { startEdge } from "../tests/support/edge.mjs";

const SECONDS = Number(process.argv[2] || 6);
const LIMITS = { RATE_LIMITS: "off", EVENTS_PER_MINUTE_PER_CLIENT: "100000000", EVENTS_PER_MINUTE_PER_SITE: "100000000" };
const load = (edge, seconds) =>
  execFileSync("wrk", ["-t2", "-c16", `-d${seconds}s`, "-s", "bench/events.lua", `${edge.url}/v1/events?site=demo`]);

const edge = await startEdge({ vars: LIMITS });
try {
  load(edge, 2); // warm-up: compiled code, cached config
  const [target] = await (await fetch(`http://127.0.0.1:${edge.inspector}/json`)).json();
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve) => ws.on("open", resolve));
  let id = 0;
  const pending = new Map();
  const scripts = [];
  ws.on("message", (data) => {
    const message = JSON.parse(data);
    if (message.method === "Debugger.scriptParsed") scripts.push(message.params);
    pending.get(message.id)?.(message);
  });
  const call = (method, params = {}) => new Promise((resolve) => {
    pending.set(++id, resolve);
    ws.send(JSON.stringify({ id, method, params }));
  });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 100 });
  await call("Profiler.start");
  load(edge, SECONDS);
  const { profile } = (await call("Profiler.stop")).result;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const perSample = (profile.endTime - profile.startTime) / profile.samples.length;
  const self = new Map();
  for (const sample of profile.samples) {
    const { functionName, url, lineNumber, columnNumber } = nodes.get(sample).callFrame;
    const key = `${functionName || "(anonymous)"}\t${url.split("/").pop()}\t${lineNumber}:${columnNumber}`;
    self.set(key, (self.get(key) || 0) + perSample);
  }
  // Name the glue's anonymous functions by the import they implement.
  await call("Debugger.enable");
  await new Promise((resolve) => setTimeout(resolve, 500));
  const glue = scripts.find((s) => s.url.endsWith("index.js"));
  const source = glue ? (await call("Debugger.getScriptSource", { scriptId: glue.scriptId })).result.scriptSource.split("\n") : [];
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  console.log(`## Self time under load (${SECONDS} s, ${(total / 1000).toFixed(0)} ms sampled)\n`);
  console.log("| ms | share | function |\n|---:|---:|---|");
  for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    let [name, file, position] = key.split("\t");
    if (name === "(anonymous)" && file === "index.js") {
      const [line, column] = position.split(":").map(Number);
      name = source[line]?.slice(Math.max(0, column - 60), column).match(/(__wbg_\w+)/)?.[1] ?? name;
    }
    console.log(`| ${(us / 1000).toFixed(1)} | ${((100 * us) / total).toFixed(1)}% | ${name} ${file ? `(${file})` : ""} |`);
  }
  ws.close();
} finally {
  await edge.stop();
}
