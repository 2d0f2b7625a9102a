// `cargo xtask demo`: the edge Worker on local workerd at http://127.0.0.1:8787,
// serving the demo shop and the agent, with the example campaigns loaded.
// Ctrl+C stops it (and the workerd it started).
import { ADMIN_TOKEN, siteKeys, startEdge } from "./edge.mjs";

const edge = await startEdge({ port: 8787 });
console.log(`Nudge demo shop on ${edge.url}  (add ?nudge_debug=1 to see decisions in the console)`);
const keys = siteKeys("demo");
console.log(`Studio on ${edge.url}/studio  (site "demo"; sign in with your name and one of these access keys)`);
console.log(`  publisher (publish, pause, roll back): ${keys.admin}`);
console.log(`  editor (drafts, preview links):        ${keys.editor}`);
console.log(`  viewer (reports only):                 ${keys.viewer}`);
console.log(`Stored events: curl -H 'authorization: Bearer ${ADMIN_TOKEN}' ${edge.url}/v1/admin/sites/demo/events`);
const stop = async () => { await edge.stop(); process.exit(0); };
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
setInterval(() => {}, 1 << 30);
