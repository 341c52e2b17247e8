//! Client options. Options grow here, never as new positional parameters.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::remap::{AddressRemap, RemapFn, ResolverFn};
use crate::tls::TlsOptions;
use crate::topology::Addr;

/// Where read-only commands go (cluster mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReadFrom {
    /// Every command goes to the primary.
    #[default]
    Primary,
    /// Reads go to a healthy replica of the shard, the primary when none can serve.
    PreferReplica,
    /// Reads rotate over the shard's healthy replicas, the primary when none can serve.
    ReplicasRoundRobin,
    /// Reads go to the shard's node (primary or replica) with the lowest measured round trip.
    LowestLatency,
}

/// Which RESP version to speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Protocol {
    /// `HELLO 3` on connect, falling back to RESP2 on servers that refuse it.
    #[default]
    Resp3,
    /// RESP2 only (no `HELLO`).
    Resp2,
}

/// Options shared by every mode. Build with [`Options::default`] and the `with_*` methods.
///
/// ```
/// use std::time::Duration;
/// let opts = slotwise::Options::default()
///     .with_request_timeout(Duration::from_secs(2))
///     .with_auth(Some("app"), "secret");
/// assert!(!format!("{opts:?}").contains("secret"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Options {
    /// The whole deadline of one request, retries and waits for a failover included.
    pub request_timeout: Duration,
    /// The deadline for opening one connection (TCP connect plus handshake).
    pub connect_timeout: Duration,
    /// ACL user name (`None` means the `default` user).
    pub username: Option<String>,
    /// Password for `AUTH`/`HELLO`. Never printed.
    pub password: Option<String>,
    /// `CLIENT SETNAME` value for every connection.
    pub client_name: Option<String>,
    /// Database number (standalone only; Redis Cluster has only database 0).
    pub db: u32,
    /// RESP version.
    pub protocol: Protocol,
    /// Requests queued or in flight per connection before callers wait (back-pressure).
    pub max_inflight: usize,
    /// MOVED/ASK redirections followed for one request before giving up.
    pub max_redirects: usize,
    /// Period of the background topology refresh (cluster mode).
    pub refresh_interval: Duration,
    /// Shortest gap between two topology refreshes, so redirect storms cause few queries.
    pub min_refresh_gap: Duration,
    /// Deadline of one topology query to one node.
    pub topology_query_timeout: Duration,
    /// How often marked (failed) nodes are probed, and live nodes' round trips measured.
    pub probe_interval: Duration,
    /// Where read-only commands go.
    pub read_from: ReadFrom,
    /// Rewrites announced addresses before connecting.
    pub address_remap: AddressRemap,
    /// Maps a startup address to the addresses to try, re-run on every refresh that uses it.
    pub resolver: Option<Arc<ResolverFn>>,
    /// Resend writes whose outcome is unknown (connection lost after the write). Off by
    /// default: it can apply a write twice.
    pub retry_unsafe_writes: bool,
    /// ACL user for the sentinels (they often have their own), apart from the data nodes'.
    pub sentinel_username: Option<String>,
    /// Password for the sentinels. Never printed.
    pub sentinel_password: Option<String>,
    /// How often every sentinel is asked for the master (Sentinel mode): the safety net for a
    /// lost `+switch-master` message.
    pub sentinel_poll_interval: Duration,
    /// Listen to the sentinels' failover announcements. Turn off only where pub/sub to the
    /// sentinels is blocked (a proxy or ACL): the poll and READONLY handling remain.
    pub sentinel_subscribe: bool,
    /// Longest time writes are held once a failover of our master is announced, if neither
    /// its end nor its abort is seen.
    pub failover_fence_timeout: Duration,
    /// TLS for every connection (data nodes and sentinels); `None` is plain TCP.
    pub tls: Option<TlsOptions>,

    /// Pub/sub messages held for the application per [`crate::PubSub`] before new ones are
    /// dropped (and counted in a [`crate::PubSubItem::Dropped`] item).
    pub pubsub_queue: usize,
    /// A pub/sub connection that received nothing for this long is sent a PING; one that
    /// then stays silent as long again is taken for dead (a half-open connection: a NAT or
    /// firewall that dropped it, a partitioned node) and its subscriptions are made again
    /// on a new connection, with one [`crate::PubSubItem::Resubscribed`]. Zero disables it.
    pub pubsub_heartbeat: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(1),
            username: None,
            password: None,
            client_name: None,
            db: 0,
            protocol: Protocol::Resp3,
            max_inflight: 16_384,
            max_redirects: 16,
            refresh_interval: Duration::from_secs(30),
            min_refresh_gap: Duration::from_millis(100),
            topology_query_timeout: Duration::from_secs(1),
            probe_interval: Duration::from_millis(200),
            read_from: ReadFrom::Primary,
            address_remap: AddressRemap::default(),
            resolver: None,
            retry_unsafe_writes: false,
            sentinel_username: None,
            sentinel_password: None,
            sentinel_poll_interval: Duration::from_millis(250),
            sentinel_subscribe: true,
            failover_fence_timeout: Duration::from_secs(15),
            tls: None,
            pubsub_queue: 65_536,
            pubsub_heartbeat: Duration::from_secs(5),
        }
    }
}

impl Options {
    /// Sets [`Options::request_timeout`].
    #[must_use]
    pub fn with_request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = d;
        self
    }
    /// Sets [`Options::connect_timeout`].
    #[must_use]
    pub fn with_connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }
    /// Sets user name and password.
    #[must_use]
    pub fn with_auth(mut self, username: Option<&str>, password: &str) -> Self {
        self.username = username.map(str::to_owned);
        self.password = Some(password.to_owned());
        self
    }
    /// Sets [`Options::client_name`].
    #[must_use]
    pub fn with_client_name(mut self, name: &str) -> Self {
        self.client_name = Some(name.to_owned());
        self
    }
    /// Sets [`Options::db`].
    #[must_use]
    pub fn with_db(mut self, db: u32) -> Self {
        self.db = db;
        self
    }
    /// Sets [`Options::protocol`].
    #[must_use]
    pub fn with_protocol(mut self, p: Protocol) -> Self {
        self.protocol = p;
        self
    }
    /// Sets [`Options::max_inflight`].
    #[must_use]
    pub fn with_max_inflight(mut self, n: usize) -> Self {
        self.max_inflight = n;
        self
    }
    /// Sets [`Options::refresh_interval`].
    #[must_use]
    pub fn with_refresh_interval(mut self, d: Duration) -> Self {
        self.refresh_interval = d;
        self
    }

    /// Sets [`Options::read_from`].
    #[must_use]
    pub fn with_read_from(mut self, r: ReadFrom) -> Self {
        self.read_from = r;
        self
    }
    /// Adds a static rewrite of an announced address.
    #[must_use]
    pub fn with_address_map(mut self, announced: Addr, connect_to: Addr) -> Self {
        self.address_remap.insert(announced, connect_to);
        self
    }
    /// Sets the remap callback (consulted after the static map).
    #[must_use]
    pub fn with_address_remap(
        mut self,
        f: impl Fn(&Addr) -> Option<Addr> + Send + Sync + 'static,
    ) -> Self {
        let f: Arc<RemapFn> = Arc::new(f);
        self.address_remap.set_callback(f);
        self
    }
    /// Sets the startup-address resolver.
    #[must_use]
    pub fn with_resolver(
        mut self,
        f: impl Fn(&Addr) -> Result<Vec<Addr>, String> + Send + Sync + 'static,
    ) -> Self {
        self.resolver = Some(Arc::new(f));
        self
    }
    /// Sets [`Options::retry_unsafe_writes`].
    #[must_use]
    pub fn with_retry_unsafe_writes(mut self, on: bool) -> Self {
        self.retry_unsafe_writes = on;
        self
    }
    /// Sets [`Options::probe_interval`].
    #[must_use]
    pub fn with_probe_interval(mut self, d: Duration) -> Self {
        self.probe_interval = d;
        self
    }
    /// Sets [`Options::topology_query_timeout`].
    #[must_use]
    pub fn with_topology_query_timeout(mut self, d: Duration) -> Self {
        self.topology_query_timeout = d;
        self
    }

    /// Sets the sentinels' own user name and password.
    #[must_use]
    pub fn with_sentinel_auth(mut self, username: Option<&str>, password: &str) -> Self {
        self.sentinel_username = username.map(str::to_owned);
        self.sentinel_password = Some(password.to_owned());
        self
    }
    /// Sets [`Options::sentinel_poll_interval`].
    #[must_use]
    pub fn with_sentinel_poll_interval(mut self, d: Duration) -> Self {
        self.sentinel_poll_interval = d;
        self
    }
    /// Sets [`Options::sentinel_subscribe`].
    #[must_use]
    pub fn with_sentinel_subscribe(mut self, on: bool) -> Self {
        self.sentinel_subscribe = on;
        self
    }
    /// Sets [`Options::failover_fence_timeout`].
    #[must_use]
    pub fn with_failover_fence_timeout(mut self, d: Duration) -> Self {
        self.failover_fence_timeout = d;
        self
    }

    /// Sets [`Options::tls`].
    #[must_use]
    pub fn with_tls(mut self, tls: TlsOptions) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Sets [`Options::pubsub_queue`].
    #[must_use]
    pub fn with_pubsub_queue(mut self, n: usize) -> Self {
        self.pubsub_queue = n;
        self
    }

    /// Sets [`Options::pubsub_heartbeat`] (zero disables it).
    #[must_use]
    pub fn with_pubsub_heartbeat(mut self, every: Duration) -> Self {
        self.pubsub_heartbeat = every;
        self
    }

    /// Rejects values that cannot work, with a message naming the option.
    pub(crate) fn validate(&self) -> crate::Result<()> {
        let positive = [
            ("request_timeout", self.request_timeout),
            ("connect_timeout", self.connect_timeout),
            ("refresh_interval", self.refresh_interval),
            ("topology_query_timeout", self.topology_query_timeout),
            ("probe_interval", self.probe_interval),
            ("sentinel_poll_interval", self.sentinel_poll_interval),
            ("failover_fence_timeout", self.failover_fence_timeout),
        ];
        for (name, d) in positive {
            if d.is_zero() {
                return Err(crate::Error::invalid(format!("option {name} must be > 0")));
            }
        }
        if self.pubsub_queue == 0 {
            return Err(crate::Error::invalid("option pubsub_queue must be > 0"));
        }
        if self.max_inflight == 0 {
            return Err(crate::Error::invalid("option max_inflight must be > 0"));
        }
        Ok(())
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("client_name", &self.client_name)
            .field("db", &self.db)
            .field("protocol", &self.protocol)
            .field("max_inflight", &self.max_inflight)
            .field("max_redirects", &self.max_redirects)
            .field("refresh_interval", &self.refresh_interval)
            .field("min_refresh_gap", &self.min_refresh_gap)
            .field("topology_query_timeout", &self.topology_query_timeout)
            .field("probe_interval", &self.probe_interval)
            .field("read_from", &self.read_from)
            .field("address_remap", &self.address_remap)
            .field("resolver", &self.resolver.as_ref().map(|_| "<fn>"))
            .field("retry_unsafe_writes", &self.retry_unsafe_writes)
            .field("sentinel_username", &self.sentinel_username)
            .field(
                "sentinel_password",
                &self.sentinel_password.as_ref().map(|_| "<redacted>"),
            )
            .field("sentinel_poll_interval", &self.sentinel_poll_interval)
            .field("sentinel_subscribe", &self.sentinel_subscribe)
            .field("failover_fence_timeout", &self.failover_fence_timeout)
            .field("tls", &self.tls)
            .field("pubsub_queue", &self.pubsub_queue)
            .field("pubsub_heartbeat", &self.pubsub_heartbeat)
            .finish()
    }
}
