//! `CLUSTER NODES`, read only for what `CLUSTER SHARDS` lacks: each node's `configEpoch`.

use std::collections::HashMap;

/// Node id → configEpoch from a `CLUSTER NODES` reply. Lines that do not parse are skipped:
/// the epochs only break ties, so a partial answer is still useful.
pub fn parse_config_epochs(text: &[u8]) -> HashMap<String, u64> {
    let text = String::from_utf8_lossy(text);
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            // <id> <ip:port@cport> <flags> <master> <ping-sent> <pong-recv> <config-epoch> ...
            let epoch = f.get(6)?.parse().ok()?;
            let id = f.first().filter(|id| !id.is_empty())?;
            Some(((*id).to_owned(), epoch))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_epochs_and_skips_garbage() {
        let text = b"07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected\n\
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922\n\
garbage line\n\
x y z a b c notanumber\n";
        let e = parse_config_epochs(text);
        assert_eq!(e.len(), 2);
        assert_eq!(e["07c37dfeb235213a872192d90877d0cd55635b91"], 4);
        assert_eq!(e["67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1"], 2);
        assert!(parse_config_epochs(b"").is_empty());
        assert!(parse_config_epochs(&[0xff, 0xfe, b'\n']).is_empty());
    }
}
