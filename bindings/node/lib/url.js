'use strict';
// Connection URLs for connect(url), parsed by the core (one parser for every language):
//
//   redis://[[user]:password@]host[:port][/db][?option=value&...]        one server
//   redis+cluster://[[user]:password@]host[:port][,host[:port]...][?...] a cluster, through any seed
//   redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/serviceName[/db][?...]
//                                                                        the master the sentinels name
//   rediss://, rediss+cluster://, rediss+sentinel://                     the same over TLS
//
// The port defaults to 6379 (26379 for sentinels). User and password are percent-decoded;
// for sentinel URLs they are the data nodes' credentials (sentinelUsername/sentinelPassword go
// in the query or the options). Query options: requestTimeout, connectTimeout (ms), clientName,
// protocol, readFrom, returnBuffers, sentinelUsername, sentinelPassword, pubsubQueue,
// pubsubHeartbeat (ms), and for TLS
// tlsCaFile, tlsCertFile, tlsKeyFile, tlsServerName, tlsInsecureSkipVerify. Options passed
// next to the URL win over the query. IPv6 hosts go in brackets: redis://[::1]:6379.

const native = require('../native.js');

const QUERY = {
  requestTimeout: Number,
  connectTimeout: Number,
  clientName: String,
  protocol: Number,
  readFrom: String,
  returnBuffers: flag,
  sentinelUsername: String,
  sentinelPassword: String,
  pubsubQueue: Number,
  pubsubHeartbeat: Number,
};

/** Query names of the `tls` option's fields. */
const TLS_QUERY = {
  tlsCaFile: ['caFile', String],
  tlsCertFile: ['certFile', String],
  tlsKeyFile: ['keyFile', String],
  tlsServerName: ['serverName', String],
  tlsInsecureSkipVerify: ['insecureSkipVerify', flag],
};

function flag(text) {
  const low = text.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(low)) return true;
  if (['0', 'false', 'no', 'off'].includes(low)) return false;
  throw new TypeError(`expected true or false, got ${JSON.stringify(text)}`);
}

/** `{ mode, addresses, serviceName, options }` from a URL. */
function parse(url) {
  if (typeof url !== 'string') {
    throw new TypeError(`url must be a string, not ${url === null ? 'null' : typeof url}`);
  }
  let u;
  try {
    u = native.parseUrl(url);
  } catch (e) {
    throw new TypeError(e.message);
  }
  const options = {};
  if (u.username != null) options.username = u.username;
  if (u.password != null) options.password = u.password;
  if (u.db != null) options.db = u.db;
  const tls = u.tls ? {} : undefined;
  for (const [name, value] of u.query) {
    const convert = QUERY[name];
    const tlsField = TLS_QUERY[name];
    if (!convert && !tlsField) {
      const known = [...Object.keys(QUERY), ...Object.keys(TLS_QUERY)];
      throw new TypeError(`unknown URL option ${JSON.stringify(name)}; known: ${known.join(', ')}`);
    }
    try {
      if (convert) options[name] = convert(value);
      else if (tls) tls[tlsField[0]] = tlsField[1](value);
      else throw new TypeError('TLS options need a rediss:// URL');
    } catch (e) {
      throw new TypeError(`URL option ${name}: ${e.message}`);
    }
  }
  if (tls) options.tls = tls;
  return { mode: u.mode, addresses: u.addresses, serviceName: u.serviceName ?? undefined, options };
}

module.exports = { parse };
