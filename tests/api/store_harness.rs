// Shared by every test module; not each module uses every helper.
#![allow(dead_code)]

//! Harness for the store's layout: events over every shard stream, and a real three-master
//! Redis Cluster on loopback.

// ---------------------------------------------------------------- events

/// Every event the gateway with `prefix` appended, over all shard streams, in the order they
/// happened (by their `at`, then stream id: ids are ordered within one stream only).
pub async fn stream_events(
    c: &mut impl redis::aio::ConnectionLike,
    prefix: &str,
) -> Vec<std::collections::HashMap<String, String>> {
    let mut all = Vec::new();
    for stream in upload_gateway::store::Keys::new(prefix).event_streams() {
        let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(&stream)
            .arg("-")
            .arg("+")
            .query_async(c)
            .await
            .unwrap();
        for e in reply.ids {
            let fields: std::collections::HashMap<String, String> = e
                .map
                .into_iter()
                .map(|(k, v)| (k, redis::from_redis_value::<String>(v).unwrap()))
                .collect();
            let at = time::OffsetDateTime::parse(
                &fields["at"],
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap();
            let (ms, seq) = e.id.split_once('-').unwrap();
            let order = (ms.parse::<u64>().unwrap(), seq.parse::<u64>().unwrap());
            all.push((at, order, fields));
        }
    }
    all.sort_by_key(|e| (e.0, e.1));
    all.into_iter().map(|(_, _, f)| f).collect()
}
