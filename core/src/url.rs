//! Connection URLs, parsed once for every binding:
//!
//! * `redis://[[user]:password@]host[:port][/db][?option=value&...]`: one server (port 6379).
//! * `redis+cluster://[[user]:password@]host[:port][,host[:port]...][?...]`: a cluster,
//!   reached through any of the seeds.
//! * `redis+sentinel://[[user]:password@]host[:port][,...]/service_name[/db][?...]`: the
//!   master the sentinels (port 26379) name for `service_name`.
//!
//! `rediss` in place of `redis` (`rediss://`, `rediss+cluster://`, `rediss+sentinel://`) means
//! TLS to every node. User, password, service name and query are percent-decoded. Query
//! options are handed back as they are: their names and units belong to each language's
//! options. IPv6 hosts go in brackets: `redis://[::1]:6379`. Errors never quote a password.

use std::fmt;

use crate::error::{Error, Result};

/// Which deployment a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlMode {
    /// `redis://`: one server.
    Standalone,
    /// `redis+cluster://`: a cluster through its seeds.
    Cluster,
    /// `redis+sentinel://`: the master named by sentinels.
    Sentinel,
}

/// A parsed connection URL. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionUrl {
    pub mode: UrlMode,
    /// `rediss...`: connect with TLS.
    pub tls: bool,
    /// `host:port` of each server (seeds, sentinels), default port filled in.
    pub addresses: Vec<String>,
    /// Sentinel URLs: the monitored service.
    pub service_name: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub db: Option<u32>,
    /// `option=value` pairs of the query, decoded, in order.
    pub query: Vec<(String, String)>,
}

impl fmt::Debug for ConnectionUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionUrl")
            .field("mode", &self.mode)
            .field("tls", &self.tls)
            .field("addresses", &self.addresses)
            .field("service_name", &self.service_name)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("db", &self.db)
            .field("query", &self.query)
            .finish()
    }
}

impl ConnectionUrl {
    /// Parses `url`; an [`ErrorKind::InvalidArgument`](crate::ErrorKind) error says what is
    /// wrong without quoting the password.
    pub fn parse(url: &str) -> Result<ConnectionUrl> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| Error::invalid(format!("not a redis URL: {:?}", redact(url))))?;
        let (mode, tls) = match scheme.to_ascii_lowercase().as_str() {
            "redis" => (UrlMode::Standalone, false),
            "rediss" => (UrlMode::Standalone, true),
            "redis+cluster" => (UrlMode::Cluster, false),
            "rediss+cluster" => (UrlMode::Cluster, true),
            "redis+sentinel" => (UrlMode::Sentinel, false),
            "rediss+sentinel" => (UrlMode::Sentinel, true),
            _ => {
                return Err(Error::invalid(format!(
                    "unsupported URL scheme {scheme:?}: use redis://host:port/db for one server, \
                     redis+cluster://host:port,host:port for a cluster or \
                     redis+sentinel://host:port,host:port/service_name for Sentinel \
                     (rediss... for TLS)"
                )))
            }
        };
        let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        // User information ends at the last '@', even if an unescaped '/' is in the password.
        let host_start = rest.rfind('@').map_or(0, |at| at + 1);
        let netloc_end = rest[host_start..]
            .find('/')
            .map_or(rest.len(), |i| host_start + i);
        let (netloc, path) = rest.split_at(netloc_end);
        let (userinfo, hosts) = netloc.rsplit_once('@').unwrap_or(("", netloc));
        let mut out = ConnectionUrl {
            mode,
            tls,
            addresses: Vec::new(),
            service_name: None,
            username: None,
            password: None,
            db: None,
            query: Vec::new(),
        };
        if !userinfo.is_empty() {
            let (user, password) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                out.username = Some(decode(user, "user name")?);
            }
            if let Some(p) = password {
                // The password's own decoding error must not quote it.
                out.password = Some(decode(p, "password").map_err(|_| {
                    Error::invalid("the password in the URL is not valid percent-encoded UTF-8")
                })?);
            }
        }
        let default_port = if mode == UrlMode::Sentinel {
            26379
        } else {
            6379
        };
        if !hosts.is_empty() {
            for h in hosts.split(',') {
                out.addresses.push(address(h, default_port)?);
            }
        }
        if out.addresses.is_empty() {
            return Err(Error::invalid(format!("no host in URL {:?}", redact(url))));
        }
        if mode == UrlMode::Standalone && out.addresses.len() > 1 {
            return Err(Error::invalid(
                "several hosts need redis+cluster:// or redis+sentinel://",
            ));
        }
        let mut path = path.trim_matches('/');
        if mode == UrlMode::Sentinel {
            let (service, db) = path.split_once('/').unwrap_or((path, ""));
            if service.is_empty() {
                return Err(Error::invalid(
                    "a sentinel URL needs the service name as its path: \
                     redis+sentinel://host:port/mymaster",
                ));
            }
            out.service_name = Some(decode(service, "service name")?);
            path = db;
        }
        if !path.is_empty() {
            if mode == UrlMode::Cluster {
                return Err(Error::invalid(
                    "a cluster URL takes no database number (Redis Cluster has only db 0)",
                ));
            }
            out.db = Some(
                path.parse()
                    .ok()
                    .filter(|_| path.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "database in the URL path must be a number, got {path:?}"
                        ))
                    })?,
            );
        }
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = decode(&k.replace('+', " "), "query option name")?;
            let v = decode(&v.replace('+', " "), "query option value")?;
            out.query.push((k, v));
        }
        Ok(out)
    }
}

/// `host:port` with the default port filled in; IPv6 only in brackets.
fn address(h: &str, default_port: u16) -> Result<String> {
    let a = with_port(h, default_port)?;
    // The one address parser decides what a usable address is (a port of 0 is not).
    crate::topology::Addr::parse(&a)?;
    Ok(a)
}

fn with_port(h: &str, default_port: u16) -> Result<String> {
    if h.is_empty() {
        return Err(Error::invalid("empty host in URL"));
    }
    if h.starts_with('[') {
        let end = h
            .find(']')
            .ok_or_else(|| Error::invalid(format!("unclosed bracket in host {h:?}")))?;
        return Ok(if h[end + 1..].starts_with(':') {
            h.to_owned()
        } else {
            format!("{h}:{default_port}")
        });
    }
    match h.matches(':').count() {
        0 => Ok(format!("{h}:{default_port}")),
        1 => Ok(h.to_owned()),
        _ => Err(Error::invalid(format!(
            "IPv6 host {h:?} must be in brackets: [addr]:port"
        ))),
    }
}

/// Percent-decoding to UTF-8.
fn decode(s: &str, what: &str) -> Result<String> {
    let bad = || Error::invalid(format!("bad percent-encoding in the URL's {what}: {s:?}"));
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3).ok_or_else(bad)?;
            let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// The URL with everything before its last '@' (user information) hidden, for error messages.
fn redact(url: &str) -> String {
    match url.rsplit_once('@') {
        Some((before, after)) => match before.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://***@{after}"),
            None => format!("***@{after}"),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests;
