'use strict';
// slotwise: a Redis Cluster / Sentinel / standalone client that never keeps a stale picture
// of the deployment. The logic is in the Rust core; lib/ is the JavaScript half of the
// binding (commands, options, errors), native.js loads the prebuilt addon.

const native = require('./native.js');
const { Client, Pipeline, Transaction, Script, connect } = require('./lib/client.js');
const { PubSub } = require('./lib/pubsub.js');
const { makeError, closedError, ...errors } = require('./lib/errors.js');

module.exports = {
  Client,
  Pipeline,
  Transaction,
  Script,
  PubSub,
  connect,
  ...errors,
  /** The addon's version (the Rust workspace version). */
  version: native.version(),
};
