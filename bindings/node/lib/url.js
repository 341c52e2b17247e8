'use strict';
// Connection URLs for connect(url):
//
//   redis://[[user]:password@]host[:port][/db][?option=value&...]        one server
//   redis+cluster://[[user]:password@]host[:port][,host[:port]...][?...] a cluster, through any seed
//   redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/serviceName[?...]
//                                                                        the master the sentinels name
//
// The port defaults to 6379 (26379 for sentinels). User and password are percent-decoded;
// for sentinel URLs they are the data nodes' credentials (sentinelUsername/sentinelPassword go
// in the query or the options). Query options: requestTimeout, connectTimeout (ms), clientName,
// protocol, readFrom, returnBuffers, sentinelUsername, sentinelPassword. Options passed next to
// the URL win over the query. IPv6 hosts go in brackets: redis://[::1]:6379.

const QUERY = {
  requestTimeout: Number,
  connectTimeout: Number,
  clientName: String,
  protocol: Number,
  readFrom: String,
  returnBuffers: flag,
  sentinelUsername: String,
  sentinelPassword: String,
};

function flag(text) {
  const low = text.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(low)) return true;
  if (['0', 'false', 'no', 'off'].includes(low)) return false;
  throw new TypeError(`expected true or false, got ${JSON.stringify(text)}`);
}

function redact(url) {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

function host(h, defaultPort) {
  if (!h) throw new TypeError('empty host in URL');
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) throw new TypeError(`unclosed bracket in host ${JSON.stringify(h)}`);
    return h.slice(end + 1).startsWith(':') ? h : `${h}:${defaultPort}`;
  }
  if ((h.match(/:/g) || []).length > 1) {
    throw new TypeError(`IPv6 host ${JSON.stringify(h)} must be in brackets: [addr]:port`);
  }
  return h.includes(':') ? h : `${h}:${defaultPort}`;
}

/** `{ mode, addresses, serviceName, options }` from a URL. */
function parse(url) {
  if (typeof url !== 'string') {
    throw new TypeError(`url must be a string, not ${url === null ? 'null' : typeof url}`);
  }
  const m = /^([a-z+]+):\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/i.exec(url);
  if (!m) throw new TypeError(`not a redis URL: ${JSON.stringify(redact(url))}`);
  const scheme = m[1].toLowerCase();
  if (scheme.startsWith('rediss')) throw new TypeError('TLS (rediss://) is not supported yet');
  const mode = { redis: 'standalone', 'redis+cluster': 'cluster', 'redis+sentinel': 'sentinel' }[scheme];
  if (!mode) {
    throw new TypeError(
      `unsupported URL scheme ${JSON.stringify(m[1])}: use redis://host:port/db, ` +
        'redis+cluster://host:port,host:port or redis+sentinel://host:port,host:port/serviceName',
    );
  }
  const options = {};
  const at = m[2].lastIndexOf('@');
  const hosts = at >= 0 ? m[2].slice(at + 1) : m[2];
  if (at >= 0) {
    const userinfo = m[2].slice(0, at);
    const colon = userinfo.indexOf(':');
    const user = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
    if (user) options.username = decodeURIComponent(user);
    if (colon >= 0) options.password = decodeURIComponent(userinfo.slice(colon + 1));
  }
  const defaultPort = mode === 'sentinel' ? 26379 : 6379;
  const addresses = hosts ? hosts.split(',').map((h) => host(h, defaultPort)) : [];
  if (addresses.length === 0) throw new TypeError(`no host in URL ${JSON.stringify(redact(url))}`);
  if (mode === 'standalone' && addresses.length > 1) {
    throw new TypeError('several hosts need redis+cluster:// or redis+sentinel://');
  }
  const path = (m[3] || '').replace(/^\/+|\/+$/g, '');
  let serviceName;
  if (mode === 'sentinel') {
    if (!path) throw new TypeError('a sentinel URL needs the service name as its path: redis+sentinel://host:port/mymaster');
    serviceName = decodeURIComponent(path);
  } else if (path) {
    if (mode === 'cluster') {
      throw new TypeError('a cluster URL takes no database number (Redis Cluster has only db 0)');
    }
    if (!/^\d+$/.test(path)) {
      throw new TypeError(`database in the URL path must be a number, got ${JSON.stringify(path)}`);
    }
    options.db = Number(path);
  }
  for (const [name, value] of new URLSearchParams(m[4] || '')) {
    const convert = QUERY[name];
    if (!convert) {
      throw new TypeError(`unknown URL option ${JSON.stringify(name)}; known: ${Object.keys(QUERY).join(', ')}`);
    }
    try {
      options[name] = convert(value);
    } catch (e) {
      throw new TypeError(`URL option ${name}: ${e.message}`);
    }
  }
  return { mode, addresses, serviceName, options };
}

module.exports = { parse };
