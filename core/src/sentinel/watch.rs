//! One subscription per sentinel to its failover announcements. A lost message is not fatal
//! (the poll and READONLY handling catch up), so these connections only make following fast.

use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::cluster::Core;
use crate::cmd;
use crate::conn::{open_stream, ConnConfig};
use crate::error::Result;
use crate::events::Event;
use crate::metrics::Trigger;
use crate::resp::{encode_command, Value};
use crate::topology::Addr;

/// Channels that mean "our master's failover has started": writes are held from here on.
const STARTS: &[&str] = &[
    "+try-failover",
    "+elected-leader",
    "+failover-state-select-slave",
    "+selected-slave",
    "+failover-state-send-slaveof-noone",
    "+failover-state-wait-promotion",
    "+promoted-slave",
];
/// Channels that mean the failover was given up: release writes.
const ABORTS: &[&str] = &[
    "-failover-abort-not-elected",
    "-failover-abort-no-good-slave",
    "-failover-abort-slave-timeout",
    "-failover-abort-master-timeout",
];
/// Channels that mean "look again now".
const LOOK: &[&str] = &[
    "+switch-master",
    "+failover-end",
    "+failover-end-for-timeout",
    "+sdown",
    "+odown",
];

pub(crate) fn spawn_watchers(core: Weak<Core>, sentinels: Vec<Addr>, cfg: ConnConfig) {
    for addr in sentinels {
        let (core, cfg) = (core.clone(), cfg.clone());
        tokio::spawn(async move { watch(core, addr, cfg).await });
    }
}

async fn watch(core: Weak<Core>, addr: Addr, cfg: ConnConfig) {
    let mut lost = false;
    let mut attempt = 0u32;
    loop {
        let result = listen(&core, &addr, &cfg, &mut lost, &mut attempt).await;
        let Some(c) = core.upgrade() else { return };
        if c.check_open().is_err() {
            return;
        }
        if let Err(e) = result {
            if !lost {
                lost = true;
                tracing::warn!(sentinel = %addr, error = %e, "sentinel lost");
                c.emit(Event::SentinelLost {
                    addr: addr.clone(),
                    reason: e.message().to_owned(),
                });
            }
        }
        drop(c);
        attempt = attempt.saturating_add(1);
        let wait = Duration::from_millis(100u64.saturating_mul(1 << attempt.min(4)).min(1000));
        tokio::time::sleep(wait).await;
    }
}

async fn listen(
    core: &Weak<Core>,
    addr: &Addr,
    cfg: &ConnConfig,
    lost: &mut bool,
    attempt: &mut u32,
) -> Result<()> {
    let (mut stream, mut decoder) = open_stream(addr, cfg).await?;
    let mut out = BytesMut::new();
    let mut sub = cmd("SUBSCRIBE");
    for ch in STARTS.iter().chain(ABORTS).chain(LOOK) {
        sub.push(*ch);
    }
    encode_command(sub.args(), &mut out);
    stream.write_all(&out).await.map_err(|e| io_err(addr, e))?;
    *attempt = 0;
    if std::mem::take(lost) {
        if let Some(c) = core.upgrade() {
            tracing::info!(sentinel = %addr, "sentinel regained");
            c.emit(Event::SentinelRegained { addr: addr.clone() });
            // Anything may have happened while it was away.
            c.trigger_refresh(Trigger::Sentinel);
        }
    }
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        while let Some(v) = decoder.decode(&mut buf)? {
            let Some(c) = core.upgrade() else {
                return Ok(());
            };
            if c.check_open().is_err() {
                return Ok(());
            }
            on_message(&c, &v);
        }
        let n = stream
            .read_buf(&mut buf)
            .await
            .map_err(|e| io_err(addr, e))?;
        if n == 0 {
            return Err(crate::error::Error::new(
                crate::ErrorKind::Io,
                crate::Outcome::NotRun,
                format!("sentinel {addr} closed the connection"),
            ));
        }
    }
}

fn io_err(addr: &Addr, e: std::io::Error) -> crate::Error {
    crate::Error::new(
        crate::ErrorKind::Io,
        crate::Outcome::NotRun,
        format!("sentinel {addr}: {e}"),
    )
}

/// `["message", channel, payload]` (RESP2) or the same as a RESP3 push.
fn on_message(core: &Arc<Core>, v: &Value) {
    let Some(items) = v.as_array() else { return };
    if items.len() != 3 || items[0].as_bytes() != Some(b"message") {
        return;
    }
    let (Some(channel), Some(payload)) = (items[1].as_str(), items[2].as_str()) else {
        return;
    };
    let Some(s) = core.sentinel.as_ref() else {
        return;
    };
    if !names_service(channel, payload, &s.service) {
        return;
    }
    if channel == "+promoted-slave" {
        // `slave <ip:port> <ip> <port> @ <name> ...`: the new master, ahead of the switch.
        let words: Vec<&str> = payload.split(' ').collect();
        if let (Some(host), Some(Ok(port))) = (words.get(2), words.get(3).map(|p| p.parse::<u16>()))
        {
            s.promoted(Addr::new(*host, port));
        }
    }
    if STARTS.contains(&channel) {
        if let Some(failing) = failing_master(payload) {
            let topo = core.topology();
            let in_use = topo.primaries().next().map(|n| &n.addr);
            s.raise_fence(
                Instant::now() + core.options.failover_fence_timeout,
                &failing,
                in_use,
            );
        }
    } else if ABORTS.contains(&channel) {
        s.lower_fence();
    }
    core.trigger_refresh(Trigger::Sentinel);
}

/// The master a failover message is about: `master <name> <ip> <port>` or
/// `<type> <name> <ip> <port> @ <master-name> <master-ip> <master-port>`.
fn failing_master(payload: &str) -> Option<Addr> {
    let words: Vec<&str> = payload.split(' ').collect();
    let at = match words.iter().position(|w| *w == "@") {
        Some(at) => at + 1,
        None if words.first() == Some(&"master") => 1,
        None => return None,
    };
    let port = words.get(at + 2)?.parse().ok()?;
    Some(Addr::new(*words.get(at + 1)?, port))
}

/// Whether a sentinel message is about `service`: `+switch-master <name> ...`,
/// `master <name> <ip> <port>`, or `<type> <name> <ip> <port> @ <master-name> ...`.
fn names_service(channel: &str, payload: &str, service: &str) -> bool {
    let words: Vec<&str> = payload.split(' ').collect();
    if channel == "+switch-master" {
        return words.first() == Some(&service);
    }
    if let Some(at) = words.iter().position(|w| *w == "@") {
        return words.get(at + 1) == Some(&service);
    }
    words.first() == Some(&"master") && words.get(1) == Some(&service)
}

#[cfg(test)]
mod tests {
    use super::names_service;

    #[test]
    fn finds_the_master_being_failed_over() {
        use super::failing_master;
        use crate::topology::Addr;
        assert_eq!(
            failing_master("master mymaster 127.0.0.1 6379"),
            Some(Addr::new("127.0.0.1", 6379))
        );
        assert_eq!(
            failing_master("slave 127.0.0.2:12269 127.0.0.2 12269 @ mymaster 127.0.0.1 20384"),
            Some(Addr::new("127.0.0.1", 20384))
        );
        assert_eq!(failing_master("bb1bd15c 1"), None);
        assert_eq!(failing_master("master mymaster 127.0.0.1 notaport"), None);
    }

    #[test]
    fn recognises_messages_about_our_service() {
        assert!(names_service(
            "+switch-master",
            "mymaster 127.0.0.1 1 127.0.0.2 2",
            "mymaster"
        ));
        assert!(!names_service(
            "+switch-master",
            "other 127.0.0.1 1 127.0.0.2 2",
            "mymaster"
        ));
        assert!(names_service(
            "+try-failover",
            "master mymaster 127.0.0.1 6379",
            "mymaster"
        ));
        assert!(names_service(
            "+selected-slave",
            "slave 127.0.0.2:12269 127.0.0.2 12269 @ mymaster 127.0.0.1 20384",
            "mymaster"
        ));
        assert!(!names_service(
            "+selected-slave",
            "slave 127.0.0.2:12269 127.0.0.2 12269 @ other 127.0.0.1 20384",
            "mymaster"
        ));
        assert!(!names_service("+try-failover", "", "mymaster"));
    }
}
