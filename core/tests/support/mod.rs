//! Real Redis deployments for integration tests, through the shared Python harness
//! (`tests/harness/slotwise_harness.py`), so every language's suite starts servers the same way.
//!
//! A `Deployment` stops its servers when dropped, also while a failing test unwinds.
//! `make test` runs `slotwise_harness.py stop-all` afterwards for processes a crash left behind.
#![allow(dead_code)]

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

/// How long one `redis-cli` call may take before the test fails (a SIGSTOPped node never answers).
const CLI_TIMEOUT: Duration = Duration::from_secs(10);

pub fn harness_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/harness/slotwise_harness.py")
}

/// Runs one harness command and returns its JSON; panics with the harness's error otherwise.
#[track_caller]
pub fn harness(args: &[&str]) -> Json {
    match try_harness(args) {
        Ok(json) => json,
        Err(e) => panic!("slotwise_harness.py {}: {e}", args.join(" ")),
    }
}

/// Like [`harness`], but returns the error instead of panicking (used from `Drop`).
pub fn try_harness(args: &[&str]) -> Result<Json, String> {
    let python = std::env::var("SLOTWISE_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .arg(harness_path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: Option<Json> = serde_json::from_str(stdout.trim()).ok();
    match json {
        Some(j) if out.status.success() && j.get("error").is_none() => Ok(j),
        Some(j) if j.get("error").is_some() => Err(j["error"].as_str().unwrap_or("").to_string()),
        _ => Err(format!(
            "exit {}: stdout {stdout:?} stderr {stderr}",
            out.status
        )),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    pub index: usize,
    pub host: String,
    pub port: u16,
    pub pid: u32,
    /// "primary", "replica" or "sentinel", as last read (start, `restart_node`,
    /// `refresh_roles`).
    pub role: String,
    /// Cluster node id (standalone: the server's run_id).
    pub id: String,
    pub primary_index: Option<usize>,
    /// Running (not killed, not SIGSTOPped) when last read.
    pub alive: bool,
    /// The address the node announces ("host:port"); differs from `addr()` only with the
    /// harness's announce options.
    pub announced: Option<String>,
}

impl NodeSpec {
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    fn from_json(j: &Json) -> NodeSpec {
        let s = |k: &str| j[k].as_str().unwrap_or_default().to_string();
        let n = |k: &str| {
            j[k].as_u64()
                .unwrap_or_else(|| panic!("harness node lacks {k}: {j}"))
        };
        NodeSpec {
            index: n("index") as usize,
            host: s("host"),
            port: n("port") as u16,
            pid: n("pid") as u32,
            role: s("role"),
            id: s("id"),
            primary_index: j["primary_index"].as_u64().map(|i| i as usize),
            alive: j["alive"].as_bool().unwrap_or(false),
            announced: j["announced"].as_str().map(str::to_string),
        }
    }
}

#[derive(Debug)]
pub struct Deployment {
    pub dir: String,
    /// "cluster", "standalone" or "sentinel".
    pub kind: String,
    pub nodes: Vec<NodeSpec>,
    pub seeds: Vec<String>,
    /// The default user's password when started with `--requirepass`.
    pub password: Option<String>,
    /// Sentinel deployments: the monitored service name (`seeds` are then the sentinels).
    pub service: Option<String>,
    /// Started with `--tls`: the certificate files the harness made.
    pub tls: Option<TlsFiles>,
    stopped: bool,
}

/// PEM files of a `--tls` deployment: its CA, a client certificate it accepts, and a CA that
/// signed nothing of it.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub ca: String,
    pub cert: String,
    pub key: String,
    pub untrusted_ca: String,
}

impl TlsFiles {
    fn from_json(j: &Json) -> Option<TlsFiles> {
        let s = |k: &str| j[k].as_str().map(str::to_string);
        Some(TlsFiles {
            ca: s("ca")?,
            cert: s("cert")?,
            key: s("key")?,
            untrusted_ca: s("untrusted_ca")?,
        })
    }

    /// Client TLS options that verify the servers and show the client certificate.
    pub fn options(&self) -> slotwise::TlsOptions {
        slotwise::TlsOptions::default()
            .with_ca_file(&self.ca)
            .with_client_cert(&self.cert, &self.key)
    }
}

impl Deployment {
    /// A cluster with every node on its own loopback IP.
    #[track_caller]
    pub fn cluster(primaries: usize, replicas: usize) -> Deployment {
        Self::cluster_with(primaries, replicas, &[])
    }

    /// A cluster with every node on 127.0.0.1.
    #[track_caller]
    pub fn cluster_shared_ip(primaries: usize, replicas: usize) -> Deployment {
        Self::cluster_with(primaries, replicas, &["--ips", "shared"])
    }

    /// A cluster with extra `start-cluster` options, e.g. `["--requirepass", "pw"]`.
    #[track_caller]
    pub fn cluster_with(primaries: usize, replicas: usize, extra: &[&str]) -> Deployment {
        let (p, r) = (primaries.to_string(), replicas.to_string());
        let mut args = vec!["start-cluster", "--primaries", &p, "--replicas", &r];
        args.extend_from_slice(extra);
        Self::start(&args)
    }

    #[track_caller]
    pub fn standalone() -> Deployment {
        Self::standalone_with(&[])
    }

    /// A standalone server with extra `start-standalone` options, e.g. `["--user", "u:pw"]`.
    #[track_caller]
    pub fn standalone_with(extra: &[&str]) -> Deployment {
        let mut args = vec!["start-standalone"];
        args.extend_from_slice(extra);
        Self::start(&args)
    }

    /// A primary (node 0) with `replicas` replicas, watched by `sentinels` sentinels (the
    /// last nodes, role "sentinel"); `seeds` lists the sentinels, `service` the name.
    #[track_caller]
    pub fn sentinel(replicas: usize, sentinels: usize) -> Deployment {
        Self::sentinel_with(replicas, sentinels, &[])
    }

    /// A Sentinel deployment with extra `start-sentinel` options, e.g. `["--quorum", "1"]`.
    #[track_caller]
    pub fn sentinel_with(replicas: usize, sentinels: usize, extra: &[&str]) -> Deployment {
        let (r, s) = (replicas.to_string(), sentinels.to_string());
        let mut args = vec!["start-sentinel", "--replicas", &r, "--sentinels", &s];
        args.extend_from_slice(extra);
        Self::start(&args)
    }

    #[track_caller]
    fn start(args: &[&str]) -> Deployment {
        let j = harness(args);
        Deployment {
            dir: j["dir"].as_str().expect("dir").to_string(),
            kind: j["kind"].as_str().unwrap_or_default().to_string(),
            nodes: nodes_of(&j),
            seeds: strings_of(&j["seeds"]),
            password: j["requirepass"].as_str().map(str::to_string),
            service: j["service"].as_str().map(str::to_string),
            tls: TlsFiles::from_json(&j["tls"]),
            stopped: false,
        }
    }

    pub fn node(&self, index: usize) -> &NodeSpec {
        &self.nodes[index]
    }

    /// Sends KILL, STOP, CONT or TERM to a node (KILL/TERM return once it has exited).
    #[track_caller]
    pub fn signal(&self, index: usize, sig: &str) {
        harness(&[
            "kill-node",
            "--dir",
            &self.dir,
            "--index",
            &index.to_string(),
            "--signal",
            sig,
        ]);
    }

    /// Starts a node again with its nodes.conf and port, on `new_ip` (a 127.x address, or
    /// "auto" for a free one) or its old address. Kills it first if it still runs.
    #[track_caller]
    pub fn restart_node(&mut self, index: usize, new_ip: Option<&str>) -> NodeSpec {
        let i = index.to_string();
        let mut args = vec!["restart-node", "--dir", &self.dir, "--index", &i];
        if let Some(ip) = new_ip {
            args.extend(["--ip", ip]);
        }
        let node = NodeSpec::from_json(&harness(&args));
        self.nodes[index] = node.clone();
        self.seeds = self.nodes.iter().map(NodeSpec::addr).collect();
        node
    }

    /// Starts an empty cluster node and joins it (as a replica of `replica_of` if given).
    #[track_caller]
    pub fn add_node(&mut self, replica_of: Option<usize>) -> NodeSpec {
        let r = replica_of.map(|i| i.to_string());
        let mut args = vec!["add-node", "--dir", &self.dir];
        if let Some(r) = &r {
            args.extend(["--replica-of", r.as_str()]);
        }
        let node = NodeSpec::from_json(&harness(&args));
        self.nodes.push(node.clone());
        self.seeds.push(node.addr());
        node
    }

    /// Waits until the live nodes form a healthy deployment (panics after `timeout_secs`).
    /// Call `refresh_roles` afterwards to see who is primary now.
    #[track_caller]
    pub fn wait_ok(&self, timeout_secs: u64) {
        harness(&[
            "wait-ok",
            "--dir",
            &self.dir,
            "--timeout",
            &timeout_secs.to_string(),
        ]);
    }

    /// Re-reads every node's role and liveness from the running servers.
    #[track_caller]
    pub fn refresh_roles(&mut self) {
        self.nodes = nodes_of(&harness(&["info", "--dir", &self.dir, "--live"]));
    }

    /// Live primaries, as of the last start/refresh.
    pub fn primaries(&self) -> Vec<&NodeSpec> {
        self.nodes
            .iter()
            .filter(|n| n.alive && n.role == "primary")
            .collect()
    }

    /// Live replicas, as of the last start/refresh.
    pub fn replicas(&self) -> Vec<&NodeSpec> {
        self.nodes
            .iter()
            .filter(|n| n.alive && n.role == "replica")
            .collect()
    }

    /// `redis-cli -h HOST -p PORT ARGS` against node `index`; stdout trimmed. Error replies
    /// come back as text ("MOVED ...", "ERR ..."); a failed connection or a hang panics.
    #[track_caller]
    pub fn cli(&self, index: usize, args: &[&str]) -> String {
        self.try_cli(index, args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Deployment::cli`] for polls that may meet a dropped connection: Sentinel demotes an
    /// old master with `CLIENT KILL TYPE normal`, which can cut a `redis-cli ROLE` in flight.
    pub fn try_cli(&self, index: usize, args: &[&str]) -> Result<String, String> {
        let n = &self.nodes[index];
        let mut cmd = Command::new("redis-cli");
        cmd.args(["-h", &n.host, "-p", &n.port.to_string()]);
        if let Some(t) = &self.tls {
            cmd.args([
                "--tls", "--cacert", &t.ca, "--cert", &t.cert, "--key", &t.key,
            ]);
        }
        if let Some(pw) = self.password.as_ref().filter(|_| n.role != "sentinel") {
            cmd.args(["-a", pw, "--no-auth-warning"]);
        }
        cmd.args(args);
        let what = format!(
            "redis-cli {} on node {index} ({})",
            args.join(" "),
            n.addr()
        );
        match run_with_timeout(cmd, CLI_TIMEOUT) {
            Ok((true, stdout, _)) => Ok(stdout.trim().to_string()),
            Ok((false, _, stderr)) => Err(format!("{what} failed: {stderr}")),
            Err(e) => Err(format!("{what}: {e}")),
        }
    }

    /// `CLUSTER FAILOVER` on replica `r`, until `r` is a primary. Redis drops a manual failover
    /// that does not finish in 5 s (a loaded machine: the replica did not catch up or the vote
    /// was late) without a word, so it is asked again, up to 3 times; the tests are about the
    /// client following a failover, not about Redis' manual failover.
    pub fn graceful_failover(&self, r: usize) {
        let run = || {
            for attempt in 1..=3 {
                let said = self.cli(r, &["CLUSTER", "FAILOVER"]);
                assert_eq!(said, "OK", "CLUSTER FAILOVER on node {r}");
                let deadline = std::time::Instant::now() + Duration::from_secs(7);
                while std::time::Instant::now() < deadline {
                    if self
                        .try_cli(r, &["ROLE"])
                        .is_ok_and(|role| role.starts_with("master"))
                    {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                eprintln!("manual failover to node {r} did not happen (attempt {attempt}); again");
            }
            panic!("node {r} did not take over after 3 CLUSTER FAILOVER");
        };
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(run),
            _ => run(),
        }
    }

    /// Stops every server now (also done on drop).
    pub fn stop(&mut self) {
        if !self.stopped {
            self.stopped = true;
            if let Err(e) = try_harness(&["stop", "--dir", &self.dir]) {
                eprintln!("slotwise harness: stopping {} failed: {e}", self.dir);
            }
        }
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        self.stop();
    }
}

fn nodes_of(j: &Json) -> Vec<NodeSpec> {
    j["nodes"]
        .as_array()
        .expect("harness output lacks nodes")
        .iter()
        .map(NodeSpec::from_json)
        .collect()
}

fn strings_of(j: &Json) -> Vec<String> {
    let items = j.as_array().map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// Runs `cmd`, killing it after `timeout`. Returns (success, stdout, stderr).
fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Result<(bool, String, String), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    // Read both pipes on threads so a large reply cannot block the child.
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("no answer within {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let (stdout, stderr) = (out_t.join().unwrap(), err_t.join().unwrap());
    Ok((status.success(), stdout, stderr))
}

/// True while `pid` is a running (or stopped) process; zombies count as gone.
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next());
            !matches!(state, Some('Z') | Some('X') | None)
        }
        Err(_) => false,
    }
}

/// Polls `f` every 20 ms until it returns true; panics naming `what` after `timeout`.
#[track_caller]
pub fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    loop {
        if f() {
            return;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
