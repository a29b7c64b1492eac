//! A small Redis Cluster with a replica per master (three of each, on loopback), for the
//! master failover of the fault suite.

use crate::helpers::RedisServer;
use std::time::{Duration, Instant};

pub struct ReplicatedCluster {
    pub nodes: Vec<RedisServer>,
}

fn query(node: &RedisServer, cmd: &mut redis::Cmd) -> redis::RedisResult<String> {
    let mut c = node.client().get_connection()?;
    cmd.query(&mut c)
}

fn info(node: &RedisServer, section: &str) -> String {
    query(node, redis::cmd("INFO").arg(section)).unwrap_or_default()
}

fn cluster_info(node: &RedisServer) -> String {
    query(node, redis::cmd("CLUSTER").arg("INFO")).unwrap_or_default()
}

impl ReplicatedCluster {
    pub fn start() -> ReplicatedCluster {
        let args = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "2000",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
        ];
        let nodes: Vec<_> = (0..6).map(|_| RedisServer::start_with(&args)).collect();
        let mut create = std::process::Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for n in &nodes {
            create.arg(format!("127.0.0.1:{}", n.port));
        }
        let out = create
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .expect("redis-cli is installed (scripts/test.sh installs it)");
        assert!(
            out.status.success(),
            "redis-cli --cluster create: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = ReplicatedCluster { nodes };
        cluster.wait("cluster ready with a synced replica per master", |c| {
            c.is_ready()
        });
        cluster
    }

    fn wait(&self, what: &str, ok: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ok(self) {
            assert!(Instant::now() < deadline, "{what}: timed out");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn is_ready(&self) -> bool {
        let all_ok = self.nodes.iter().all(|n| {
            let i = cluster_info(n);
            i.contains("cluster_state:ok") && i.contains("cluster_known_nodes:6")
        });
        all_ok
            && self
                .replicas()
                .iter()
                .all(|r| info(r, "replication").contains("master_link_status:up"))
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.url()).collect()
    }

    pub fn replicas(&self) -> Vec<&RedisServer> {
        self.nodes
            .iter()
            .filter(|n| info(n, "replication").contains("role:slave"))
            .collect()
    }

    /// `CLUSTER FAILOVER` on a replica (the coordinated kind: the master stops taking writes
    /// until the replica has caught up), then waits until it serves as master and the
    /// cluster is whole again. Returns the new master's port.
    pub fn fail_over_one(&self, which: usize) -> u16 {
        let replicas = self.replicas();
        let r = replicas[which % replicas.len()];
        query(r, redis::cmd("CLUSTER").arg("FAILOVER")).expect("CLUSTER FAILOVER");
        let port = r.port;
        self.wait("failover", |c| {
            let node = c.nodes.iter().find(|n| n.port == port).unwrap();
            info(node, "replication").contains("role:master") && c.is_ready()
        });
        port
    }

    /// Freezes one master (SIGSTOP) for `ms`, shorter than the node timeout, so that no
    /// failover starts: the gateway sees a hung shard, then the same master again.
    pub fn freeze_a_master(&self, ms: u64) -> u16 {
        let master = self
            .nodes
            .iter()
            .find(|n| info(n, "replication").contains("role:master"))
            .expect("a master");
        master.pause();
        std::thread::sleep(Duration::from_millis(ms));
        master.resume();
        self.wait("cluster whole after the freeze", |c| c.is_ready());
        master.port
    }

    pub async fn connection(&self) -> redis::cluster_async::ClusterConnection {
        redis::cluster::ClusterClient::new(self.urls())
            .unwrap()
            .get_async_connection()
            .await
            .unwrap()
    }
}
