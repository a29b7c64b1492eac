//! One Redis connection type for standalone and Cluster deployments.

use super::StoreError;
use crate::config::RedisSettings;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};
use secrecy::ExposeSecret;
use std::cell::RefCell;
use std::sync::{Arc, Weak};
use tokio::sync::OnceCell;

#[derive(Clone)]
pub enum StoreConn {
    Standalone(Arc<Standalone>),
    Cluster {
        client: Arc<ClusterClient>,
        conn: Arc<OnceCell<ClusterConnection>>,
    },
}

/// One multiplexed connection per thread that uses the store. A single shared one runs its
/// driver task on whichever worker touched Redis first, so every command from the other
/// workers crossed threads twice (an eventfd wake each way).
pub struct Standalone {
    client: redis::Client,
    config: ConnectionManagerConfig,
}

/// A ready connection, cheap to clone, usable with every `redis` command helper.
#[derive(Clone)]
pub enum Conn {
    Standalone(ConnectionManager),
    Cluster(ClusterConnection),
}

impl StoreConn {
    pub fn new(s: &RedisSettings) -> Result<Self, StoreError> {
        if s.cluster_nodes.is_empty() {
            let mut info: redis::ConnectionInfo = s.url.as_str().parse()?;
            let mut redis_settings = info.redis_settings().clone();
            if let Some(u) = &s.username {
                redis_settings = redis_settings.set_username(u);
            }
            if let Some(p) = &s.password {
                redis_settings = redis_settings.set_password(p.expose_secret());
            }
            info = info.set_redis_settings(redis_settings);
            let client = redis::Client::open(info)?;
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(s.connect_timeout))
                .set_response_timeout(Some(s.command_timeout))
                // Reconnect quickly and keep trying: readiness reports the outage meanwhile.
                .set_number_of_retries(2)
                .set_max_delay(std::time::Duration::from_millis(500));
            Ok(StoreConn::Standalone(Arc::new(Standalone {
                client,
                config,
            })))
        } else {
            let mut builder = ClusterClient::builder(s.cluster_nodes.clone())
                .connection_timeout(s.connect_timeout)
                .response_timeout(s.command_timeout);
            if let Some(u) = &s.username {
                builder = builder.username(u.clone());
            }
            if let Some(p) = &s.password {
                builder = builder.password(p.expose_secret());
            }
            Ok(StoreConn::Cluster {
                client: Arc::new(builder.build()?),
                conn: Arc::new(OnceCell::new()),
            })
        }
    }

    /// On a Cluster a pipeline or script may only touch one slot; on a single server the
    /// store batches keys of several slots into one round trip.
    pub fn is_cluster(&self) -> bool {
        matches!(self, StoreConn::Cluster { .. })
    }

    pub async fn get(&self) -> Result<Conn, StoreError> {
        match self {
            StoreConn::Standalone(s) => thread_manager(s).map(Conn::Standalone),
            StoreConn::Cluster { client, conn } => {
                let c = conn
                    .get_or_try_init(|| async { client.get_async_connection().await })
                    .await?;
                Ok(Conn::Cluster(c.clone()))
            }
        }
    }
}

thread_local! {
    /// Each live store's connection on this thread; entries of dropped stores are pruned.
    static MANAGERS: RefCell<Vec<(Weak<Standalone>, ConnectionManager)>> =
        const { RefCell::new(Vec::new()) };
}

/// This thread's connection for `store`, made (lazily, without touching the network) on the
/// thread's first use, so that its driver runs on this thread's runtime.
fn thread_manager(store: &Arc<Standalone>) -> Result<ConnectionManager, StoreError> {
    MANAGERS.with(|cell| {
        let mut managers = cell.borrow_mut();
        let me = Arc::downgrade(store);
        if let Some((_, m)) = managers.iter().find(|(w, _)| w.ptr_eq(&me)) {
            return Ok(m.clone());
        }
        managers.retain(|(w, _)| w.strong_count() > 0);
        let m =
            ConnectionManager::new_lazy_with_config(store.client.clone(), store.config.clone())?;
        managers.push((me, m.clone()));
        Ok(m)
    })
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Standalone(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Standalone(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Standalone(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings() -> RedisSettings {
        RedisSettings {
            url: "redis://127.0.0.1:1".into(),
            cluster_nodes: vec![],
            username: None,
            password: None,
            key_prefix: "t".into(),
            command_timeout: Duration::from_millis(50),
            connect_timeout: Duration::from_millis(50),
            record_ttl: Duration::from_secs(60),
            events_maxlen: 10,
        }
    }

    fn cached() -> usize {
        MANAGERS.with(|m| m.borrow().len())
    }

    #[tokio::test]
    async fn one_connection_per_store_and_thread_and_none_kept_for_dropped_stores() {
        let base = cached();
        let a = StoreConn::new(&settings()).unwrap();
        a.get().await.unwrap();
        a.clone().get().await.unwrap();
        assert_eq!(
            cached(),
            base + 1,
            "a store's clones share the thread's connection"
        );
        for _ in 0..50 {
            let b = StoreConn::new(&settings()).unwrap();
            b.get().await.unwrap();
        }
        // Each new store prunes the dropped ones: a's entry and the last b's remain.
        assert_eq!(cached(), base + 2);
        let other = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                a.get().await.unwrap();
                cached()
            })
        });
        assert_eq!(other.join().unwrap(), 1, "another thread makes its own");
    }
}
