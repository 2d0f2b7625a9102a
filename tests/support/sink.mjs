// A stand-in for an offsite channel (CRM webhook, ad platform) on 127.0.0.1:
// records what it receives, checks the signature, and fails on cue.
import { createServer } from "node:http";
import { createHmac } from "node:crypto";
import { FORWARD_KEY } from "./edge.mjs";

/**
 * `plan(id, attempt, path)` returns a status to answer with, or "hang" to never answer.
 * Deliveries answered 2xx are in `delivered[path]` (one entry per 2xx answer).
 */
export async function startSink(plan = () => 200) {
  const attempts = new Map();
  const delivered = {};
  const badSignatures = [];
  const hanging = new Set();
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const id = req.headers["webhook-id"];
    const expected = createHmac("sha256", FORWARD_KEY).update(`${id}.${req.headers["webhook-timestamp"]}.${body}`).digest("base64");
    if (req.headers["webhook-signature"] !== `v1,${expected}` || req.headers["idempotency-key"] !== id) badSignatures.push(id);
    const key = `${req.url} ${id}`;
    const attempt = (attempts.get(key) || 0) + 1;
    attempts.set(key, attempt);
    const status = plan(id, attempt, req.url);
    if (status === "hang") { hanging.add(res); return; }
    if (status >= 200 && status < 300) (delivered[req.url] ||= []).push(JSON.parse(body));
    res.writeHead(status).end();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    delivered, attempts, badSignatures,
    close: () => { for (const res of hanging) res.destroy(); return new Promise((r) => server.close(r)); },
  };
}
