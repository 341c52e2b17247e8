//! What an error reply asks the router to do next.

use crate::error::{Error, ErrorKind};
use crate::topology::Addr;

/// The router's reading of one error reply.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    /// `MOVED slot addr`: the slot lives elsewhere for good.
    Moved(u16, Addr),
    /// `ASK slot addr`: this one request goes to `addr`, preceded by `ASKING`.
    Ask(Addr),
    /// The command did not run and the cluster is in transition: wait and resend.
    Transient(Error),
    /// `NOSCRIPT`: the node does not have the script an EVALSHA named (it did not run).
    NoScript(Error),
    /// A final answer from the server.
    Final(Error),
}

/// Classifies an error reply. `from` is the node that answered: a redirect may leave the host
/// empty (`MOVED 3999 :6381`), meaning "same host as me".
pub(crate) fn classify(msg: &[u8], from: &Addr) -> Reply {
    if let Some(r) = parse_redirect(msg, from) {
        return r;
    }
    let e = Error::from_server(msg);
    if msg.starts_with(b"NOSCRIPT") {
        Reply::NoScript(e.with_outcome(crate::error::Outcome::NotRun))
    } else if e.kind().is_transient_server_state() {
        Reply::Transient(e)
    } else {
        Reply::Final(e)
    }
}

fn parse_redirect(msg: &[u8], from: &Addr) -> Option<Reply> {
    let text = std::str::from_utf8(msg).ok()?;
    let mut parts = text.split(' ');
    let word = parts.next()?;
    if word != "MOVED" && word != "ASK" {
        return None;
    }
    let slot: u16 = parts
        .next()?
        .parse()
        .ok()
        .filter(|s| *s < crate::slot::SLOT_COUNT)?;
    let target = parts.next()?;
    let (host, port) = target.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = if host.is_empty() {
        from.host.clone()
    } else {
        host.to_owned()
    };
    let addr = Addr::new(host, port);
    Some(if word == "MOVED" {
        Reply::Moved(slot, addr)
    } else {
        Reply::Ask(addr)
    })
}

/// True for replies after which the topology should be re-read (connection failures trigger
/// a refresh where the node is marked).
pub(crate) fn suggests_refresh(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::ClusterDown
            | ErrorKind::ReadOnly
            | ErrorKind::MasterDown
            | ErrorKind::Connect
            | ErrorKind::Io
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from() -> Addr {
        Addr::new("127.0.0.9", 7000)
    }

    #[test]
    fn parses_moved_and_ask() {
        assert_eq!(
            classify(b"MOVED 3999 127.0.0.1:6381", &from()),
            Reply::Moved(3999, Addr::new("127.0.0.1", 6381))
        );
        assert_eq!(
            classify(b"ASK 1 10.0.0.1:7001", &from()),
            Reply::Ask(Addr::new("10.0.0.1", 7001))
        );
        assert_eq!(
            classify(b"MOVED 5 :7002", &from()),
            Reply::Moved(5, Addr::new("127.0.0.9", 7002))
        );
        assert_eq!(
            classify(b"MOVED 5 [::1]:7002", &from()),
            Reply::Moved(5, Addr::new("::1", 7002))
        );
    }

    #[test]
    fn malformed_redirects_are_final_errors() {
        for bad in [
            &b"MOVED"[..],
            b"MOVED x 1.2.3.4:5",
            b"MOVED 99999 a:1",
            b"ASK 1 nohost",
            b"MOVED 1 a:0",
            b"MOVED 1 a:99999",
        ] {
            assert!(
                matches!(classify(bad, &from()), Reply::Final(_)),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn transient_states() {
        for t in [
            &b"TRYAGAIN Multiple keys request during rehashing of slot"[..],
            b"CLUSTERDOWN The cluster is down",
            b"LOADING",
            b"READONLY You can't write",
            b"MASTERDOWN Link down",
            b"UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)",
        ] {
            assert!(matches!(classify(t, &from()), Reply::Transient(_)));
        }
        assert!(matches!(
            classify(b"WRONGTYPE Operation", &from()),
            Reply::Final(_)
        ));
        // The application's own CLIENT UNBLOCK ... ERROR is final.
        assert!(matches!(
            classify(b"UNBLOCKED client unblocked via CLIENT UNBLOCK", &from()),
            Reply::Final(_)
        ));
        assert!(matches!(
            classify(b"NOSCRIPT No matching script.", &from()),
            Reply::NoScript(e) if e.outcome() == crate::error::Outcome::NotRun
        ));
    }
}
