//! What one webhook request carries: the Standard Webhooks envelope
//! `{"type", "timestamp", "data"}` around the event's stream fields, and its id.

use crate::store::StreamEntry;
use serde_json::{Map, Value};

/// One event as it is delivered (and, unchanged, redelivered from the dead-letter list).
#[derive(Clone, Debug)]
pub struct Message {
    /// `webhook-id`: `s<shard>-<stream entry id>`. Entry ids are unique within one stream
    /// only, so the shard is part of it; the same event always gets the same id, whichever
    /// replica sends it and however often.
    pub id: String,
    pub event_type: String,
    pub body: String,
    /// Milliseconds since the epoch at which the event was appended (from its entry id):
    /// the retry period counts from here, whoever holds the entry now.
    pub appended_ms: u64,
}

pub fn webhook_id(shard: usize, entry_id: &str) -> String {
    format!("s{shard}-{entry_id}")
}

/// The envelope: `data` holds every stream field but `type` (which is the envelope's), as
/// the same strings the stream holds, so a backend reading both sees one shape.
pub fn message(shard: usize, entry: &StreamEntry) -> Message {
    let event_type = entry
        .fields
        .get("type")
        .cloned()
        .unwrap_or_else(|| "upload.unknown".into());
    let mut data = Map::new();
    for (k, v) in &entry.fields {
        if k != "type" {
            data.insert(k.clone(), Value::String(v.clone()));
        }
    }
    let mut envelope = Map::new();
    envelope.insert("type".into(), Value::String(event_type.clone()));
    let at = entry.fields.get("at").cloned().unwrap_or_default();
    envelope.insert("timestamp".into(), Value::String(at));
    envelope.insert("data".into(), Value::Object(data));
    Message {
        id: webhook_id(shard, &entry.id),
        event_type,
        body: Value::Object(envelope).to_string(),
        appended_ms: entry
            .id
            .split_once('-')
            .and_then(|(ms, _)| ms.parse().ok())
            .unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_holds_the_stream_fields_and_the_id_names_the_shard() {
        let entry = StreamEntry {
            id: "1712345678901-3".into(),
            fields: [
                ("type", "upload.completed"),
                ("upload_id", "0190aa"),
                ("size", "12"),
                ("at", "2024-04-05T19:34:38Z"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        };
        let m = message(7, &entry);
        assert_eq!(m.id, "s7-1712345678901-3");
        assert_eq!(m.appended_ms, 1712345678901);
        let v: Value = serde_json::from_str(&m.body).unwrap();
        assert_eq!(v["type"], "upload.completed");
        assert_eq!(v["timestamp"], "2024-04-05T19:34:38Z");
        assert_eq!(v["data"]["size"], "12");
        assert_eq!(v["data"]["upload_id"], "0190aa");
        assert!(v["data"].get("type").is_none());
    }
}
