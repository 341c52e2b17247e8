//! The connection handshake: HELLO 3 (falling back to RESP2), AUTH, SETNAME, SELECT, READONLY.

use super::{ConnConfig, Stream};
use crate::config::Protocol;
use crate::error::{Error, ErrorKind, Outcome, Result};
use crate::resp::{encode_command, Decoder, Value};
use crate::{cmd, Cmd};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub(super) async fn run(mut stream: Stream, cfg: &ConnConfig) -> Result<(Stream, Decoder)> {
    let mut io = Roundtrip {
        stream: &mut stream,
        decoder: Decoder::default(),
        buf: BytesMut::with_capacity(4096),
    };
    let opts = &cfg.options;
    let creds = cfg.credentials.get();
    let user = creds.username.as_deref().unwrap_or("default");
    let mut resp3 = false;
    if opts.protocol == Protocol::Resp3 {
        let mut hello = cmd("HELLO").arg("3");
        if let Some(pw) = &creds.password {
            hello = hello.arg("AUTH").arg(user).arg(pw.as_str());
        }
        if let Some(name) = &opts.client_name {
            hello = hello.arg("SETNAME").arg(name.as_str());
        }
        match io.call(&hello).await? {
            Value::Error(msg) => {
                let e = Error::from_server(&msg);
                if e.kind() == ErrorKind::Auth || msg.starts_with(b"NOPERM") {
                    return Err(auth_error(e));
                }
                // NOPROTO or an old server without HELLO: speak RESP2.
                tracing::debug!(reply = %e, "HELLO 3 refused, falling back to RESP2");
            }
            _ => resp3 = true,
        }
    }
    if !resp3 {
        if let Some(pw) = &creds.password {
            let auth = match &creds.username {
                Some(u) => cmd("AUTH").arg(u.as_str()).arg(pw.as_str()),
                None => cmd("AUTH").arg(pw.as_str()),
            };
            if let Value::Error(msg) = io.call(&auth).await? {
                return Err(auth_error(Error::from_server(&msg)));
            }
        }
        if let Some(name) = &opts.client_name {
            io.expect_ok(&cmd("CLIENT").arg("SETNAME").arg(name.as_str()))
                .await?;
        }
    }
    if cfg.select_db && opts.db != 0 {
        io.expect_ok(&cmd("SELECT").arg(opts.db)).await?;
    }
    if cfg.readonly {
        io.expect_ok(&cmd("READONLY")).await?;
    }
    let decoder = io.decoder;
    Ok((stream, decoder))
}

fn auth_error(e: Error) -> Error {
    Error::new(
        ErrorKind::Auth,
        Outcome::NotRun,
        format!("authentication failed: {}", e.message()),
    )
}

/// Sends one command at a time on a bare stream: the handshake runs before the I/O tasks.
struct Roundtrip<'a> {
    stream: &'a mut Stream,
    decoder: Decoder,
    buf: BytesMut,
}

impl Roundtrip<'_> {
    async fn call(&mut self, c: &Cmd) -> Result<Value> {
        let mut out = BytesMut::new();
        encode_command(c.args(), &mut out);
        self.stream
            .write_all(&out)
            .await
            .map_err(|e| io_error("write", e))?;
        loop {
            if let Some(v) = self.decoder.decode(&mut self.buf)? {
                return Ok(v);
            }
            let n = self
                .stream
                .read_buf(&mut self.buf)
                .await
                .map_err(|e| io_error("read", e))?;
            if n == 0 {
                return Err(Error::new(
                    ErrorKind::Connect,
                    Outcome::NotRun,
                    "server closed the connection during the handshake",
                ));
            }
        }
    }

    async fn expect_ok(&mut self, c: &Cmd) -> Result<()> {
        match self.call(c).await? {
            Value::Error(msg) => Err(Error::from_server(&msg).with_outcome(Outcome::NotRun)),
            _ => Ok(()),
        }
    }
}

fn io_error(what: &str, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Connect,
        Outcome::NotRun,
        format!("{what} failed during the handshake: {e}"),
    )
}
