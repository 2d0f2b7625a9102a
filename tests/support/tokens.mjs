// What a shop's backend and its email tool do, for tests: sign user tokens,
// email-link click tokens and Standard Webhooks requests (formats: README).
import { createHmac, randomBytes } from "node:crypto";
import { SITE_SECRET, WEBHOOK_KEY } from "./edge.mjs";

const b64url = (buf) => Buffer.from(buf).toString("base64url");
const hmac = (key, message) => createHmac("sha256", key).update(message).digest();

export function userToken(userId, { site = "demo", expires = Math.floor(Date.now() / 1000) + 3600, secret = SITE_SECRET } = {}) {
  return `u1.${b64url(userId)}.${expires}.${b64url(hmac(secret, `u1.${site}.${userId}.${expires}`))}`;
}

/** A `u2` user token: the user id plus contact details the shop vouches for ({u, e?, p?}). */
export function userToken2(payload, { site = "demo", expires = Math.floor(Date.now() / 1000) + 3600, secret = SITE_SECRET } = {}) {
  const part = b64url(JSON.stringify(payload));
  return `u2.${part}.${expires}.${b64url(hmac(secret, `u2.${site}.${part}.${expires}`))}`;
}

export function clickToken(who, { site = "demo", expires = Math.floor(Date.now() / 1000) + 3600, secret = SITE_SECRET } = {}) {
  const payload = b64url(JSON.stringify({ ...who, x: expires, n: randomBytes(12).toString("hex") }));
  return `c1.${payload}.${b64url(hmac(secret, `c1.${site}.${payload}`))}`;
}

export function webhook(url, event, { id = `msg_${randomBytes(6).toString("hex")}`, timestamp = Math.floor(Date.now() / 1000), key = WEBHOOK_KEY } = {}) {
  const body = JSON.stringify(event);
  const signature = hmac(key, `${id}.${timestamp}.${body}`).toString("base64");
  return fetch(url, {
    method: "POST", body,
    headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": `v1,${signature}` },
  });
}
