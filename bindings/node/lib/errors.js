'use strict';
// The one place where core errors get their JavaScript classes. Every error the addon reports
// is built by `makeError` below (the addon calls it with the core's stable ErrorKind name and
// number), so the name -> class table here is the whole mapping.
//
// Every class derives from SlotwiseError, whose instances carry:
//   code        the stable ErrorKind name, e.g. 'CLUSTERDOWN', 'TIMEOUT'
//   numericCode the stable ErrorKind number (the same as the C status and Python `code`)
//   mayHaveRun  true when the command was sent and its outcome is unknown: a write may have
//               been applied, so retrying it could apply it twice
// There is no MayHaveRunError class: whether a command may have run is independent of what
// went wrong, so it is a property of every error.

class SlotwiseError extends Error {
  constructor(message, code = 'UNKNOWN', numericCode = 0, mayHaveRun = false) {
    super(message);
    this.code = code;
    this.numericCode = numericCode;
    this.mayHaveRun = mayHaveRun;
  }

  get name() {
    return this.constructor.name;
  }
}

/** Could not connect to a node (CONNECT). */
class ConnectionError extends SlotwiseError {}
/** An established connection broke (IO). */
class ConnectionLostError extends ConnectionError {}
/** The request's deadline (requestTimeout, retries included) passed (TIMEOUT). */
class TimeoutError extends SlotwiseError {}
/** Too many requests in flight on one connection until the deadline passed (BUSY). */
class BusyError extends TimeoutError {}
/** The server sent something that is not valid RESP or not the expected shape (PROTOCOL). */
class ProtocolError extends SlotwiseError {}
/** The server answered with an error reply (SERVER, e.g. WRONGTYPE). */
class ResponseError extends SlotwiseError {}
/** CLUSTERDOWN outlasted the request's retries. */
class ClusterDownError extends ResponseError {}
/** TRYAGAIN outlasted the request's retries. */
class TryAgainError extends ResponseError {}
/** The keys of one command live in different slots (CROSSSLOT). */
class CrossSlotError extends ResponseError {}
/** A write reached a replica and retries did not find the primary (READONLY). */
class ReadOnlyError extends ResponseError {}
/** The node is loading its dataset (LOADING). */
class LoadingError extends ResponseError {}
/** A replica lost its link to the primary (MASTERDOWN). */
class MasterDownError extends ResponseError {}
/** Authentication failed (AUTH). */
class AuthenticationError extends SlotwiseError {}
/** The client rejected an argument or option before sending anything (INVALID_ARGUMENT). */
class InvalidArgumentError extends SlotwiseError {}
/** No node is known for the slot (NO_ROUTE). */
class NoRouteError extends SlotwiseError {}
/** MOVED/ASK redirections went past the limit (TOO_MANY_REDIRECTS). */
class TooManyRedirectsError extends SlotwiseError {}
/** The client was closed (CLOSED). */
class ClosedError extends SlotwiseError {}
/** No usable view of the cluster could be found (TOPOLOGY). */
class TopologyError extends SlotwiseError {}
/** A command of a MULTI/EXEC transaction was refused while queueing; nothing applied (EXECABORT). */
class ExecAbortError extends ResponseError {}
/** A watched key changed before EXEC: the transaction applied nothing (code 'WATCH', no kind). */
class WatchError extends SlotwiseError {}

/** ErrorKind name -> class. Kinds added to the core later get SlotwiseError until named. */
const BY_CODE = {
  CONNECT: ConnectionError,
  IO: ConnectionLostError,
  TIMEOUT: TimeoutError,
  BUSY: BusyError,
  PROTOCOL: ProtocolError,
  SERVER: ResponseError,
  CLUSTERDOWN: ClusterDownError,
  TRYAGAIN: TryAgainError,
  CROSSSLOT: CrossSlotError,
  READONLY: ReadOnlyError,
  LOADING: LoadingError,
  MASTERDOWN: MasterDownError,
  AUTH: AuthenticationError,
  INVALID_ARGUMENT: InvalidArgumentError,
  NO_ROUTE: NoRouteError,
  TOO_MANY_REDIRECTS: TooManyRedirectsError,
  CLOSED: ClosedError,
  TOPOLOGY: TopologyError,
  EXECABORT: ExecAbortError,
};

/** Called by the addon for every error it reports. */
function makeError(code, numericCode, message, mayHaveRun) {
  const Class = Object.prototype.hasOwnProperty.call(BY_CODE, code) ? BY_CODE[code] : SlotwiseError;
  return new Class(message, code, numericCode, mayHaveRun);
}

/** The ClosedError a call on a closed client fails with (without a round trip). */
function closedError() {
  return makeError('CLOSED', 16, 'the client is closed', false);
}

module.exports = {
  SlotwiseError,
  ConnectionError,
  ConnectionLostError,
  TimeoutError,
  BusyError,
  ProtocolError,
  ResponseError,
  ClusterDownError,
  TryAgainError,
  CrossSlotError,
  ReadOnlyError,
  LoadingError,
  MasterDownError,
  AuthenticationError,
  InvalidArgumentError,
  NoRouteError,
  TooManyRedirectsError,
  ClosedError,
  TopologyError,
  ExecAbortError,
  WatchError,
  makeError,
  closedError,
};
