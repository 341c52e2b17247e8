//! Lua scripts sent by hash: the body is kept so a node that does not have the script yet (a
//! new primary after a failover, a restarted node) gets it loaded and the call goes on.

use bytes::Bytes;

use crate::{cmd, Cmd, ToArg};

/// A Lua script run with EVALSHA; [`crate::Client::run_script`] loads it with SCRIPT LOAD on
/// the node that answers NOSCRIPT and calls it again, inside the request's deadline.
///
/// ```no_run
/// # async fn demo(client: slotwise::Client) -> slotwise::Result<()> {
/// let incr = slotwise::Script::new("return redis.call('INCRBY', KEYS[1], ARGV[1])");
/// let v = client.run_script(&incr, &["{user1}.visits"], &["1"]).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    body: Bytes,
    sha: String,
    read_only: bool,
}

impl Script {
    /// A script from its Lua source.
    pub fn new(body: impl ToArg) -> Script {
        let body = body.to_arg();
        let sha = sha1_smol::Sha1::from(&body[..]).digest().to_string();
        Script {
            body,
            sha,
            read_only: false,
        }
    }

    /// The same script called with EVALSHA_RO: it must not write, and a replica may serve it
    /// under a replica read policy.
    #[must_use]
    pub fn read_only(mut self) -> Script {
        self.read_only = true;
        self
    }

    /// The SHA-1 of the body, in lower-case hex (what EVALSHA and SCRIPT EXISTS take).
    pub fn sha(&self) -> &str {
        &self.sha
    }

    /// The Lua source.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// True for a script called with EVALSHA_RO.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The EVALSHA command for these keys and arguments.
    pub(crate) fn call<K: ToArg + Clone, A: ToArg + Clone>(&self, keys: &[K], args: &[A]) -> Cmd {
        let name = if self.read_only {
            "EVALSHA_RO"
        } else {
            "EVALSHA"
        };
        let mut c = cmd(name).arg(self.sha.as_str()).arg(keys.len());
        for k in keys {
            c.push(k.clone());
        }
        for a in args {
            c.push(a.clone());
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha_matches_redis() {
        // `redis-cli SCRIPT LOAD "return 1"` answers this hash.
        assert_eq!(
            Script::new("return 1").sha(),
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
        );
        let c = Script::new("return 1")
            .read_only()
            .call(&["k"], &["a", "b"]);
        assert_eq!(c.args()[0], "EVALSHA_RO");
        assert_eq!(c.args()[2], "1");
        assert_eq!(c.args().len(), 6);
    }
}
