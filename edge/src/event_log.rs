//! Each site's event log: a SQLite-backed Durable Object. Event ids are the
//! primary key, so a batch sent twice (the agent resends what a beacon may
//! already have delivered) is stored once.

use serde_json::{json, Value};
use worker::{
    durable_object, DurableObject, Env, Request, Response, Result, SqlStorageValue, State,
};

#[durable_object]
pub struct EventLog {
    state: State,
}

impl DurableObject for EventLog {
    fn new(state: State, _env: Env) -> Self {
        let sql = state.storage().sql();
        // Idempotent; runs before any request is delivered to this object.
        if let Err(e) = sql.exec(
            "CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, received_at INTEGER NOT NULL, body TEXT NOT NULL)",
            None,
        ) {
            worker::console_error!("event log schema: {e}");
        }
        EventLog { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let sql = self.state.storage().sql();
        match req.path().as_str() {
            "/append" => {
                let rows: Vec<Value> = req.json().await?;
                let now = worker::Date::now().as_millis() as i64;
                let (mut accepted, mut duplicates) = (0u32, 0u32);
                // No await between the inserts: the runtime commits them together.
                for row in rows {
                    let (Some(id), Some(body)) = (row["id"].as_str(), row["body"].as_str()) else {
                        continue;
                    };
                    let cursor = sql.exec(
                        "INSERT OR IGNORE INTO events (id, received_at, body) VALUES (?, ?, ?)",
                        vec![
                            SqlStorageValue::from(id.to_owned()),
                            SqlStorageValue::Integer(now),
                            SqlStorageValue::from(body.to_owned()),
                        ],
                    )?;
                    if cursor.rows_written() > 0 {
                        accepted += 1;
                    } else {
                        duplicates += 1;
                    }
                }
                Response::from_json(&json!({"accepted": accepted, "duplicates": duplicates}))
            }
            "/recent" => {
                let rows: Vec<Value> = sql
                    .exec("SELECT id, received_at, body FROM events ORDER BY received_at DESC, id LIMIT 1000", None)?
                    .to_array()?;
                let total: Vec<Value> = sql
                    .exec("SELECT COUNT(*) AS n FROM events", None)?
                    .to_array()?;
                Response::from_json(
                    &json!({"total": total.first().map_or(json!(0), |r| r["n"].clone()), "events": rows}),
                )
            }
            _ => Response::error("not found", 404),
        }
    }
}
