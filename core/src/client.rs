//! The one `Client` facade over every mode.

use std::sync::Arc;

use tokio::time::Instant;

use crate::cluster::{Core, HealthReport, Mode, Scan, Transaction};
use crate::config::{Options, ReadFrom};
use crate::conn::{ConnConfig, Credentials};
use crate::error::{Error, ErrorKind, Outcome, Result};
use crate::events::Event;
use crate::metrics::{MetricsSnapshot, Trigger};
use crate::pool::Pool;
use crate::refresh::{self, Refresher};
use crate::resp::Value;
use crate::script::Script;
use crate::sentinel::SentinelState;
use crate::topology::{Addr, Topology};
use crate::{Cmd, ToArg};

/// A client for a Redis Cluster or a single Redis server. Cheap to clone: clones share
/// connections and topology. Every method may be called from many tasks at once.
///
/// ```no_run
/// # async fn demo() -> slotwise::Result<()> {
/// use slotwise::{cmd, Client, Options};
/// let client = Client::cluster(["127.0.0.1:7000"], Options::default()).await?;
/// client.execute(cmd("SET").arg("greeting").arg("hello")).await?;
/// let v = client.execute(cmd("GET").arg("greeting")).await?;
/// assert_eq!(v.as_str(), Some("hello"));
///
/// let mut p = client.pipeline();
/// p.add(cmd("INCR").arg("a")).add(cmd("INCR").arg("b"));
/// let replies = p.execute().await; // one Result per command, in order
/// assert_eq!(replies.len(), 2);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    core: Arc<Core>,
}

impl Client {
    /// Connects to a Redis Cluster through any of `seeds` (`"host:port"`), discovers its
    /// topology, and keeps following it. Must be called inside a tokio runtime.
    pub async fn cluster<S: AsRef<str>>(
        seeds: impl IntoIterator<Item = S>,
        options: Options,
    ) -> Result<Client> {
        options.validate()?;
        let seeds = parse_addrs(seeds)?;
        // READONLY is harmless on a primary and lets a replica serve reads; a node can
        // change role under an open connection, so every connection gets it.
        let readonly = options.read_from != ReadFrom::Primary;
        let pool = Pool::new(ConnConfig::new(options.clone(), readonly, false)?);
        let (interval, gap) = (options.refresh_interval, options.min_refresh_gap);
        let core = Core::new(
            Mode::Cluster,
            options,
            seeds,
            pool,
            Topology::empty(),
            None,
            |weak| Some(Refresher::spawn(weak, interval, gap)),
        );
        Client::start(core).await
    }

    /// Connects to one Redis server at `addr` (`"host:port"`).
    pub async fn standalone(addr: &str, options: Options) -> Result<Client> {
        options.validate()?;
        let addr = Addr::parse(addr)?;
        let pool = Pool::new(ConnConfig::new(options.clone(), false, true)?);
        let topo = crate::standalone::topology(&addr)?;
        let core = Core::new(
            Mode::Standalone,
            options,
            vec![addr.clone()],
            pool,
            topo,
            None,
            |_| None,
        );
        core.pool.get(&addr, || core.metrics.connect(&addr)).await?;
        Ok(Client { core })
    }

    /// Connects to the master that the sentinels at `sentinels` (`"host:port"`) name for
    /// `service_name`, verified with `ROLE`, and keeps following it through failovers:
    /// announcements from every sentinel, a poll, and READONLY replies all lead to the new
    /// master; writes are held while a failover of the master is under way.
    pub async fn sentinel<S: AsRef<str>>(
        sentinels: impl IntoIterator<Item = S>,
        service_name: &str,
        options: Options,
    ) -> Result<Client> {
        options.validate()?;
        if service_name.is_empty() {
            return Err(Error::invalid("service_name must not be empty"));
        }
        let sentinels = parse_addrs(sentinels)?;
        let mut sentinel_options = options.clone();
        sentinel_options.username = options.sentinel_username.clone();
        sentinel_options.password = options.sentinel_password.clone();
        sentinel_options.client_name = None;
        let sentinel_cfg = ConnConfig::new(sentinel_options, false, false)?;
        // Pub/sub replies are plain arrays in RESP2: the watchers speak it.
        let mut watch_cfg = sentinel_cfg.clone();
        watch_cfg.options.protocol = crate::config::Protocol::Resp2;
        let state = SentinelState::new(
            service_name.to_owned(),
            sentinels.clone(),
            Pool::new(sentinel_cfg),
        );
        let pool = Pool::new(ConnConfig::new(options.clone(), false, true)?);
        let (poll, gap) = (options.sentinel_poll_interval, options.min_refresh_gap);
        let subscribe = options.sentinel_subscribe;
        let core = Core::new(
            Mode::Sentinel,
            options,
            sentinels.clone(),
            pool,
            Topology::empty(),
            Some(state),
            |weak| {
                if subscribe {
                    crate::sentinel::spawn_watchers(weak.clone(), sentinels, watch_cfg);
                }
                Some(Refresher::spawn(weak, poll, gap))
            },
        );
        Client::start(core).await
    }

    /// The first discovery of a deployment the client follows (cluster, Sentinel); the
    /// client is closed again when it fails, so no background task outlives the error.
    async fn start(core: Arc<Core>) -> Result<Client> {
        core.metrics.refresh(Trigger::Startup);
        refresh::refresh(&core)
            .await
            .inspect_err(|_| core.close())?;
        Ok(Client { core })
    }

    /// Proves that every primary accepts a write (a short-lived probe key on each), with
    /// per-node results. Unhealthy when a primary refuses (e.g. READONLY: it was demoted),
    /// does not answer, or a slot has no primary.
    pub async fn health_check(&self) -> Result<HealthReport> {
        self.core.check_open()?;
        Ok(self.core.health_check(self.core.deadline()).await)
    }

    /// Runs one command and returns its reply; an error reply becomes `Err`.
    pub async fn execute(&self, cmd: Cmd) -> Result<Value> {
        self.core.execute(&cmd, self.core.deadline()).await
    }

    /// Starts a pipeline: commands are sent in batches, one per node, and the replies come
    /// back in the order the commands were added.
    pub fn pipeline(&self) -> Pipeline {
        Pipeline {
            client: self.clone(),
            cmds: Vec::new(),
        }
    }

    /// Runs `script` with EVALSHA on the node owning its keys (all in one slot), loading it
    /// there first when the node answers NOSCRIPT.
    pub async fn run_script<K: ToArg + Clone, A: ToArg + Clone>(
        &self,
        script: &Script,
        keys: &[K],
        args: &[A],
    ) -> Result<Value> {
        self.core.check_open()?;
        let c = script.call(keys, args);
        self.core
            .run_script(
                &c,
                script.body(),
                script.is_read_only(),
                self.core.deadline(),
            )
            .await
    }

    /// Starts a MULTI/EXEC transaction (optionally WATCHing keys first) on a connection held
    /// for it; every key must share one slot. See [`Transaction`].
    pub fn transaction(&self) -> Transaction {
        Transaction::new(self.core.clone())
    }

    /// The topology in use (a snapshot).
    pub fn topology(&self) -> Arc<Topology> {
        self.core.topology()
    }

    /// A number that grows every time the routing changes.
    pub fn topology_version(&self) -> u64 {
        self.core.topology_version()
    }

    /// Starts a scan of every key of the deployment (SCAN on each primary in turn, optionally
    /// with `MATCH pattern` and `COUNT count`); see [`Scan::next_page`].
    pub fn scan(&self, pattern: Option<&[u8]>, count: Option<u64>) -> Scan {
        Scan::new(self.core.clone(), pattern, count)
    }

    /// Events about the deployment (topology changes, failed and recovered nodes, failovers)
    /// from now on. A receiver that falls more than 1024 events behind loses the oldest.
    pub fn events(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.core.subscribe()
    }

    /// Pub/Sub on dedicated connections that follow the deployment (see [`PubSub`]). Must
    /// be called inside a tokio runtime.
    pub fn pubsub(&self) -> Result<crate::PubSub> {
        crate::PubSub::start(self.core.clone())
    }

    /// Counters of what the client did to follow the deployment.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.core.metrics.snapshot()
    }

    /// Re-reads the cluster topology now and waits for it (no-op outside cluster mode).
    pub async fn refresh_topology(&self) -> Result<()> {
        self.core.check_open()?;
        match &self.core.refresher {
            Some(r) => r.refresh_and_wait(self.core.deadline()).await,
            None => Ok(()),
        }
    }

    /// Replaces the ACL user and password of the data nodes (password rotation): connections
    /// opened from now on authenticate with them; open connections are kept (the server
    /// keeps them authenticated), so no request is dropped. Rotate by adding the new password
    /// to the ACL user, calling this, then removing the old one.
    pub fn update_credentials(&self, username: Option<&str>, password: &str) -> Result<()> {
        self.core.check_open()?;
        self.core.pool.set_credentials(Credentials {
            username: username.map(str::to_owned),
            password: Some(password.to_owned()),
        });
        Ok(())
    }

    /// Closes every connection; later calls fail with [`ErrorKind::Closed`].
    pub fn close(&self) {
        self.core.close();
    }
}

/// Commands collected for one round trip per node. Created by [`Client::pipeline`].
#[derive(Debug)]
pub struct Pipeline {
    client: Client,
    cmds: Vec<Cmd>,
}

impl Pipeline {
    /// Adds a command.
    pub fn add(&mut self, cmd: Cmd) -> &mut Self {
        self.cmds.push(cmd);
        self
    }

    /// Number of commands added.
    pub fn len(&self) -> usize {
        self.cmds.len()
    }

    /// True when no command was added.
    pub fn is_empty(&self) -> bool {
        self.cmds.is_empty()
    }

    /// Sends every command; one result per command, in the order they were added. All of them
    /// share one deadline.
    pub async fn execute(self) -> Vec<Result<Value>> {
        let deadline = Instant::now() + self.client.core.options.request_timeout;
        self.client.core.pipeline(&self.cmds, deadline).await
    }
}

pub(crate) fn parse_addrs<S: AsRef<str>>(seeds: impl IntoIterator<Item = S>) -> Result<Vec<Addr>> {
    let seeds: Vec<Addr> = seeds
        .into_iter()
        .map(|s| Addr::parse(s.as_ref()))
        .collect::<Result<_>>()?;
    if seeds.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            Outcome::NotRun,
            "at least one seed address is needed",
        ));
    }
    Ok(seeds)
}
