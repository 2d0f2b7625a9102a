// `cargo xtask demo`: the edge Worker on local workerd at http://127.0.0.1:8787,
// serving the demo shop and the agent, with the example campaigns loaded.
// Ctrl+C stops it (and the workerd it started).
import { ADMIN_TOKEN, startEdge } from "./edge.mjs";

const edge = await startEdge({ port: 8787 });
console.log(`Nudge demo shop on ${edge.url}  (add ?nudge_debug=1 to see decisions in the console)`);
console.log(`Stored events: curl -H 'authorization: Bearer ${ADMIN_TOKEN}' ${edge.url}/v1/admin/sites/demo/events`);
const stop = async () => { await edge.stop(); process.exit(0); };
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
setInterval(() => {}, 1 << 30);
