// GrowthBook's evalCondition on the shared rule workload (bench/rules-workload.mjs),
// in Node: ns per condition, and how many (condition, profile) pairs match, which
// must equal Nudge's count (same semantics, same data).
import { evalCondition } from "@growthbook/growthbook";
import { workload } from "./rules-workload.mjs";

const { conditions, profiles } = workload();
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const samples = [];
let matches = 0;
for (let round = 0; round < 25; round++) {
  let n = 0;
  const start = process.hrtime.bigint();
  for (const condition of conditions) for (const profile of profiles) if (evalCondition(profile, condition)) n++;
  samples.push(Number(process.hrtime.bigint() - start) / (conditions.length * profiles.length));
  matches = n;
}
console.log(JSON.stringify({ ns_per_condition: Number(median(samples).toFixed(1)), matches }));
