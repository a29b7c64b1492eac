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

// ---------------------------------------------------------------- redis cluster

/// Three masters on loopback (no replicas), slots spread by `redis-cli --cluster create`.
pub struct RedisCluster {
    pub nodes: Vec<crate::helpers::RedisServer>,
}

impl RedisCluster {
    pub fn start() -> RedisCluster {
        let args = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "2000",
        ];
        let nodes: Vec<_> = (0..3)
            .map(|_| crate::helpers::RedisServer::start_with(&args))
            .collect();
        let mut create = std::process::Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for n in &nodes {
            create.arg(format!("127.0.0.1:{}", n.port));
        }
        let out = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli is installed (scripts/test.sh installs it)");
        assert!(
            out.status.success(),
            "redis-cli --cluster create: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = RedisCluster { nodes };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !cluster.is_ready() {
            assert!(
                std::time::Instant::now() < deadline,
                "cluster did not become ready"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        cluster
    }

    /// Every node agrees the cluster is up and knows all three masters.
    fn is_ready(&self) -> bool {
        self.nodes.iter().all(|n| {
            let Ok(mut c) = n.client().get_connection() else {
                return false;
            };
            let info: String = redis::cmd("CLUSTER")
                .arg("INFO")
                .query(&mut c)
                .unwrap_or_default();
            info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3")
        })
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.url()).collect()
    }

    /// A client that follows the cluster's slot map, as the gateway's does.
    pub async fn connection(&self) -> redis::cluster_async::ClusterConnection {
        redis::cluster::ClusterClient::new(self.urls())
            .unwrap()
            .get_async_connection()
            .await
            .unwrap()
    }

    /// How many nodes hold at least one of `keys` (a node answers MOVED for a key it does not
    /// serve).
    pub fn nodes_holding(&self, keys: &[String]) -> usize {
        self.nodes
            .iter()
            .filter(|n| {
                let mut c = n.client().get_connection().unwrap();
                keys.iter().any(|k| {
                    redis::cmd("EXISTS")
                        .arg(k)
                        .query::<i64>(&mut c)
                        .is_ok_and(|e| e == 1)
                })
            })
            .count()
    }
}

/// The cluster shared by the tests of this binary (each test uses its own key prefix).
pub fn shared_cluster() -> &'static RedisCluster {
    static CLUSTER: std::sync::OnceLock<RedisCluster> = std::sync::OnceLock::new();
    CLUSTER.get_or_init(RedisCluster::start)
}

/// The gateway against the shared Redis Cluster (`redis.cluster_nodes`).
pub async fn spawn_app_on_cluster(
    customise: impl FnOnce(&mut upload_gateway::config::raw::RawSettings),
) -> crate::helpers::TestApp {
    let cluster = shared_cluster();
    let urls = cluster.urls();
    let first = urls[0].clone();
    crate::helpers::spawn_app_on(&first, move |raw| {
        raw.redis.cluster_nodes = urls;
        customise(raw);
    })
    .await
}
