//! `parseUrl`: the core's URL parser for `lib/url.js`, which adds the query's option names.

use napi::{Error, Result, Status};
use napi_derive::napi;
use slotwise::{ConnectionUrl, UrlMode};

/// A parsed connection URL.
#[napi(object)]
#[derive(Debug)]
pub struct ParsedUrl {
    /// `'standalone' | 'cluster' | 'sentinel'`.
    pub mode: String,
    pub tls: bool,
    pub addresses: Vec<String>,
    pub service_name: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub db: Option<u32>,
    /// `[name, value]` pairs of the query, decoded.
    pub query: Vec<Vec<String>>,
}

/// Parses a connection URL; the error message never quotes the password.
#[napi]
pub fn parse_url(url: String) -> Result<ParsedUrl> {
    let u = ConnectionUrl::parse(&url)
        .map_err(|e| Error::new(Status::InvalidArg, e.message().to_owned()))?;
    let mode = match u.mode {
        UrlMode::Cluster => "cluster",
        UrlMode::Sentinel => "sentinel",
        _ => "standalone",
    };
    Ok(ParsedUrl {
        mode: mode.to_owned(),
        tls: u.tls,
        addresses: u.addresses,
        service_name: u.service_name,
        username: u.username,
        password: u.password,
        db: u.db,
        query: u.query.into_iter().map(|(k, v)| vec![k, v]).collect(),
    })
}
