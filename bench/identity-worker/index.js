// A bench Worker (never deployed): one SQLite Durable Object holding N
// identifiers in the edge's `identifiers` table, answering K lookups per
// request. The client times requests (clocks inside a Worker stand still
// while it computes), so per-lookup cost = (time for K - time for 0) / K.
import { DurableObject } from "cloudflare:workers";

// The same table and index as edge/src/site.rs.
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS identifiers (kind TEXT NOT NULL, value TEXT NOT NULL, person_id TEXT NOT NULL,
     verified INTEGER NOT NULL, added_at INTEGER NOT NULL, PRIMARY KEY (kind, value))`,
  "CREATE INDEX IF NOT EXISTS identifiers_by_person ON identifiers (person_id, kind, added_at)",
];

// 64 hex characters, like the SHA-256 hashes the edge stores, spread like them.
function hashLike(i) {
  let x = (i + 1) * 0x9e3779b1;
  let out = "";
  for (let j = 0; j < 8; j++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out += (x >>> 0).toString(16).padStart(8, "0");
  }
  return out;
}

export class Store extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    for (const s of SCHEMA) ctx.storage.sql.exec(s);
  }

  count() {
    return ctx(this).sql.exec("SELECT COUNT(*) AS n FROM identifiers").one().n;
  }

  seed(upTo) {
    const sql = ctx(this).sql;
    for (let i = this.count(); i < upTo; i++) {
      sql.exec("INSERT INTO identifiers (kind, value, person_id, verified, added_at) VALUES (?, ?, ?, 1, ?)",
        i % 3 === 0 ? "email" : "anon", hashLike(i), `p_${i >> 1}`, i);
    }
    return this.count();
  }

  lookups(k, n) {
    const sql = ctx(this).sql;
    let found = 0;
    for (let j = 0; j < k; j++) {
      const i = (j * 7919) % n;
      const row = sql.exec("SELECT person_id FROM identifiers WHERE kind = ? AND value = ?", i % 3 === 0 ? "email" : "anon", hashLike(i)).toArray();
      found += row.length;
    }
    return found;
  }
}

const ctx = (store) => store.ctx.storage;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const store = env.STORE.get(env.STORE.idFromName("bench"));
    const n = Number(url.searchParams.get("n") || 0);
    if (url.pathname === "/seed") return Response.json({ count: await store.seed(n) });
    if (url.pathname === "/lookup") return Response.json({ found: await store.lookups(Number(url.searchParams.get("k") || 0), n) });
    return new Response("not found", { status: 404 });
  },
};
