// How an identity lookup's cost grows with stored identifiers (issue #4): 1k,
// 100k and 1M rows in the edge's `identifiers` table, in a SQLite Durable
// Object on local workerd (bench/identity-worker). Each request performs K
// lookups by (kind, value), the query `/v1/identify`, `/v1/profile` and every
// event's person resolution run; the client's wall clock for K lookups minus
// that for none, over K, is the cost of one lookup. Medians of repeated runs.
//
//   cargo xtask bench
import { startEdge } from "../tests/support/edge.mjs";

const SIZES = (process.env.BENCH_IDENTIFIERS || "1000,100000,1000000").split(",").map(Number);
const K = 2000;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

const worker = await startEdge({ config: "bench/identity-worker/wrangler.toml", seedDemo: false });
try {
  const get = async (path) => {
    const r = await fetch(`${worker.url}${path}`);
    if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${await r.text()}`);
    return r.json();
  };
  const timed = async (path) => { const t = performance.now(); await get(path); return performance.now() - t; };
  console.log(`## Identity lookups as stored identifiers grow (SQLite Durable Object, local workerd; ${K} lookups per request, median of 9)\n`);
  console.log("| identifiers stored | µs per lookup | found |\n|---:|---:|---:|");
  for (const n of SIZES) {
    let count = 0;
    const seedStart = performance.now();
    // Seeded in steps: each request stays well under a Worker's limits.
    while (count < n) count = (await get(`/seed?n=${Math.min(n, count + 100_000)}`)).count;
    const seeded = (performance.now() - seedStart) / 1000;
    const costs = [];
    for (let i = 0; i < 9; i++) costs.push(((await timed(`/lookup?k=${K}&n=${n}`)) - (await timed(`/lookup?k=0&n=${n}`))) / K);
    const { found } = await get(`/lookup?k=${K}&n=${n}`);
    console.log(`| ${n.toLocaleString("en")} | ${(median(costs) * 1000).toFixed(1)} | ${found}/${K} |`);
    if (process.env.BENCH_VERBOSE) console.error(`seeded to ${n} in ${seeded.toFixed(1)} s`);
  }
} finally {
  await worker.stop();
}
