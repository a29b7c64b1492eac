//! One Redis connection type for standalone and Cluster deployments.

use super::StoreError;
use crate::config::RedisSettings;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};
use secrecy::ExposeSecret;
use std::sync::Arc;
use tokio::sync::OnceCell;

#[derive(Clone)]
pub enum StoreConn {
    Standalone(ConnectionManager),
    Cluster {
        client: Arc<ClusterClient>,
        conn: Arc<OnceCell<ClusterConnection>>,
    },
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
            let manager = ConnectionManager::new_lazy_with_config(client, config)?;
            Ok(StoreConn::Standalone(manager))
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
            StoreConn::Standalone(m) => Ok(Conn::Standalone(m.clone())),
            StoreConn::Cluster { client, conn } => {
                let c = conn
                    .get_or_try_init(|| async { client.get_async_connection().await })
                    .await?;
                Ok(Conn::Cluster(c.clone()))
            }
        }
    }
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
