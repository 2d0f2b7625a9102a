// A stand-in for offsite channels (a CRM webhook, Klaviyo, Drip, Twilio, Meta)
// on 127.0.0.1: records what it receives, checks webhook signatures, and
// fails on cue.
import { createServer } from "node:http";
import { createHmac } from "node:crypto";
import assert from "node:assert/strict";
import { FORWARD_KEY } from "./edge.mjs";

/**
 * `plan(id, attempt, path)` returns a status to answer with, or "hang" to never answer;
 * `id` is the request's webhook-id or idempotency-key (the event id).
 * Deliveries answered 2xx are in `delivered[path]` as parsed JSON (one entry per
 * 2xx answer) and, with their headers and raw body, in `requests`.
 */
export async function startSink(plan = () => 200) {
  const attempts = new Map();
  const delivered = {};
  const requests = [];
  const badSignatures = [];
  const hanging = new Set();
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const signed = req.headers["webhook-id"];
    const id = signed || req.headers["idempotency-key"];
    if (signed) {
      const expected = createHmac("sha256", FORWARD_KEY).update(`${signed}.${req.headers["webhook-timestamp"]}.${body}`).digest("base64");
      if (req.headers["webhook-signature"] !== `v1,${expected}` || req.headers["idempotency-key"] !== id) badSignatures.push(id);
    }
    const key = `${req.url} ${id}`;
    const attempt = (attempts.get(key) || 0) + 1;
    attempts.set(key, attempt);
    const status = plan(id, attempt, req.url);
    if (status === "hang") { hanging.add(res); return; }
    if (status >= 200 && status < 300) {
      let parsed = body;
      try { parsed = JSON.parse(body); } catch { /* a form body (Twilio) stays text */ }
      (delivered[req.url] ||= []).push(parsed);
      requests.push({ path: req.url, id, headers: req.headers, body: parsed });
    }
    res.writeHead(status).end();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    delivered, requests, attempts, badSignatures,
    close: () => { for (const res of hanging) res.destroy(); return new Promise((r) => server.close(r)); },
  };
}

/** Waits (polling) until `check()` holds: deliveries go through a queue, so they arrive a little later. */
export async function until(check, ms = 45_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail("timed out waiting");
}
