//! `slotwise_reply`: a RESP2/RESP3 reply tree (the core's `Value`) and its accessors.

use slotwise::Value;

use crate::args::{self, Handle};
use crate::error::Failure;
use crate::panic::{boundary, call};
use crate::status::slotwise_status;

/// One reply from the server: a tree of RESP values.
///
/// Ownership: a reply handed to you as `slotwise_reply **` (from `slotwise_command`) or as the
/// `reply` argument of a `slotwise_reply_callback` is yours; free it once with
/// `slotwise_reply_free`. Replies reached through an accessor (`const slotwise_reply **`:
/// elements, map keys and values, pipeline results) are borrowed from their root and valid
/// until the root is freed; never free them.
///
/// Thread-safety: immutable; its accessors may be called from several threads at once. It may
/// be freed from any thread, once no other call on it is in progress.
#[derive(Debug)]
pub struct slotwise_reply {
    _private: [u8; 0],
}

impl Handle for slotwise_reply {
    type Inner = Value;
}

/// The type of a reply. RESP2 servers only produce NIL, INTEGER, SIMPLE_STRING,
/// BULK_STRING, ERROR and ARRAY.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum slotwise_reply_type {
    /// No value (RESP2 null bulk or null array, RESP3 null), e.g. `GET` of a missing key.
    Nil = 0,
    /// A signed 64-bit integer: `slotwise_reply_get_integer`.
    Integer = 1,
    /// RESP3 double: `slotwise_reply_get_double`.
    Double = 2,
    /// RESP3 boolean: `slotwise_reply_get_bool`.
    Boolean = 3,
    /// RESP3 big number, as its decimal text: `slotwise_reply_get_bytes`.
    BigNumber = 4,
    /// Simple string (`OK`): `slotwise_reply_get_bytes`.
    SimpleString = 5,
    /// Bulk string, binary-safe: `slotwise_reply_get_bytes`.
    BulkString = 6,
    /// RESP3 verbatim string: the text through `slotwise_reply_get_bytes`, the three-byte
    /// format (`txt`, `mkd`) through `slotwise_reply_get_verbatim_format`.
    Verbatim = 7,
    /// An error reply nested in an aggregate (a failed command's own error is a status
    /// instead): the message through `slotwise_reply_get_bytes`.
    Error = 8,
    /// Array: `slotwise_reply_get_len`, `slotwise_reply_get_element`.
    Array = 9,
    /// RESP3 map: `slotwise_reply_get_len` (pairs), `slotwise_reply_get_map_entry`.
    Map = 10,
    /// RESP3 set: `slotwise_reply_get_len`, `slotwise_reply_get_element`.
    Set = 11,
    /// RESP3 push (out-of-band data): `slotwise_reply_get_len`, `slotwise_reply_get_element`.
    Push = 12,
    /// A kind of value newer than this library's reply types; no accessor reads it.
    Unknown = 99,
}

fn type_of(v: &Value) -> slotwise_reply_type {
    use slotwise_reply_type as T;
    match v {
        Value::Nil => T::Nil,
        Value::Int(_) => T::Integer,
        Value::Double(_) => T::Double,
        Value::Boolean(_) => T::Boolean,
        Value::BigNumber(_) => T::BigNumber,
        Value::Simple(_) => T::SimpleString,
        Value::Bulk(_) => T::BulkString,
        Value::Verbatim { .. } => T::Verbatim,
        Value::Error(_) => T::Error,
        Value::Array(_) => T::Array,
        Value::Map(_) => T::Map,
        Value::Set(_) => T::Set,
        Value::Push(_) => T::Push,
        _ => T::Unknown,
    }
}

fn wrong_type(v: &Value, wanted: &str) -> Failure {
    Failure::new(
        slotwise_status::WrongType,
        format!("the reply is {:?}, not {wanted}", type_of(v)),
    )
}

/// A reply handed to C as its owner.
pub(crate) fn into_owned(v: Value) -> *mut slotwise_reply {
    args::into_raw::<slotwise_reply>(v)
}

/// A reply borrowed by C from a tree slotwise (or another reply) owns.
pub(crate) fn borrowed(v: &Value) -> *const slotwise_reply {
    (v as *const Value).cast()
}

/// Borrows the reply behind `reply`.
///
/// # Safety
/// `reply` is NULL or a live reply pointer.
unsafe fn val_of<'a>(reply: *const slotwise_reply) -> Result<&'a Value, Failure> {
    // SAFETY: per this function's contract.
    unsafe { args::get(reply, "reply") }
}

/// Writes the type of `reply` to `*out`.
#[no_mangle]
pub unsafe extern "C" fn slotwise_reply_get_type(
    reply: *const slotwise_reply,
    out: *mut slotwise_reply_type,
) -> slotwise_status {
    call(|| {
        // SAFETY: C passes live pointers or NULL (header contract).
        let (out, v) = unsafe {
            (
                args::out(out, "out", slotwise_reply_type::Nil)?,
                val_of(reply)?,
            )
        };
        out.write(type_of(v));
        Ok(())
    })
}

/// Writes the integer of an INTEGER reply to `*out`; `SLOTWISE_STATUS_WRONG_TYPE` for any
/// other type (a number sent as a string is a BULK_STRING: read its bytes).
#[no_mangle]
pub unsafe extern "C" fn slotwise_reply_get_integer(
    reply: *const slotwise_reply,
    out: *mut i64,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, v) = unsafe { (args::out(out, "out", 0)?, val_of(reply)?) };
        let Value::Int(i) = v else {
            return Err(wrong_type(v, "an integer"));
        };
        out.write(*i);
        Ok(())
    })
}

/// Writes the value of a DOUBLE reply to `*out`; `SLOTWISE_STATUS_WRONG_TYPE` otherwise.
#[no_mangle]
pub unsafe extern "C" fn slotwise_reply_get_double(
    reply: *const slotwise_reply,
    out: *mut f64,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, v) = unsafe { (args::out(out, "out", 0.0)?, val_of(reply)?) };
        let Value::Double(d) = v else {
            return Err(wrong_type(v, "a double"));
        };
        out.write(*d);
        Ok(())
    })
}

/// Writes the value of a BOOLEAN reply to `*out`; `SLOTWISE_STATUS_WRONG_TYPE` otherwise.
#[no_mangle]
pub unsafe extern "C" fn slotwise_reply_get_bool(
    reply: *const slotwise_reply,
    out: *mut bool,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, v) = unsafe { (args::out(out, "out", false)?, val_of(reply)?) };
        let Value::Boolean(b) = v else {
            return Err(wrong_type(v, "a boolean"));
        };
        out.write(*b);
        Ok(())
    })
}

/// Points `*ptr`/`*len` at the bytes of a SIMPLE_STRING, BULK_STRING, VERBATIM (its text),
/// BIG_NUMBER (its decimal text) or ERROR (its message) reply; `SLOTWISE_STATUS_WRONG_TYPE`
/// for other types. The bytes are not NUL-terminated and may contain NULs; they belong to the
/// reply and stay valid until its root is freed.
#[no_mangle]
pub unsafe extern "C" fn slotwise_reply_get_bytes(
    reply: *const slotwise_reply,
    ptr: *mut *const u8,
    len: *mut usize,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (ptr, len, v) = unsafe {
            (
                args::out(ptr, "ptr", std::ptr::null())?,
                args::out(len, "len", 0)?,
                val_of(reply)?,
            )
        };
        let b: &[u8] = match v {
            Value::Error(b) => b,
            other => other
                .as_bytes()
                .ok_or_else(|| wrong_type(other, "a string"))?,
        };
        ptr.write(b.as_ptr());
        len.write(b.len());
        Ok(())
    })
}

/// Points `*ptr` at the three-byte format (`txt`, `mkd`) of a VERBATIM reply, `*len` = 3;
/// `SLOTWISE_STATUS_WRONG_TYPE` for other types. Valid until the reply's root is freed.
#[no_mangle]
pub unsafe extern "C" fn slotwise_reply_get_verbatim_format(
    reply: *const slotwise_reply,
    ptr: *mut *const u8,
    len: *mut usize,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (ptr, len, v) = unsafe {
            (
                args::out(ptr, "ptr", std::ptr::null())?,
                args::out(len, "len", 0)?,
                val_of(reply)?,
            )
        };
        match v {
            Value::Verbatim { format, .. } => {
                ptr.write(format.as_ptr());
                len.write(format.len());
                Ok(())
            }
            other => Err(wrong_type(other, "a verbatim string")),
        }
    })
}

/// Writes the number of elements of an ARRAY, SET or PUSH reply, or of key/value pairs of a
/// MAP reply, to `*out`; `SLOTWISE_STATUS_WRONG_TYPE` for other types.
#[no_mangle]
pub unsafe extern "C" fn slotwise_reply_get_len(
    reply: *const slotwise_reply,
    out: *mut usize,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, v) = unsafe { (args::out(out, "out", 0)?, val_of(reply)?) };
        let len = match v {
            Value::Map(m) => m.len(),
            other => other
                .as_array()
                .ok_or_else(|| wrong_type(other, "an aggregate"))?
                .len(),
        };
        out.write(len);
        Ok(())
    })
}

/// Points `*element` at element `index` of an ARRAY, SET or PUSH reply (borrowed: valid until
/// the root reply is freed; never free it). `SLOTWISE_STATUS_OUT_OF_RANGE` past the end,
/// `SLOTWISE_STATUS_WRONG_TYPE` for other types (a MAP: `slotwise_reply_get_map_entry`).
#[no_mangle]
pub unsafe extern "C" fn slotwise_reply_get_element(
    reply: *const slotwise_reply,
    index: usize,
    element: *mut *const slotwise_reply,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, v) = unsafe {
            (
                args::out(element, "element", std::ptr::null())?,
                val_of(reply)?,
            )
        };
        let items = v
            .as_array()
            .ok_or_else(|| wrong_type(v, "an array, set or push"))?;
        let item = items
            .get(index)
            .ok_or_else(|| out_of_range(index, items.len()))?;
        out.write(borrowed(item));
        Ok(())
    })
}

/// Points `*key` and `*value` at pair `index` of a MAP reply (borrowed: valid until the root
/// reply is freed; never free them). `SLOTWISE_STATUS_OUT_OF_RANGE` past the end,
/// `SLOTWISE_STATUS_WRONG_TYPE` for other types.
#[no_mangle]
pub unsafe extern "C" fn slotwise_reply_get_map_entry(
    reply: *const slotwise_reply,
    index: usize,
    key: *mut *const slotwise_reply,
    value: *mut *const slotwise_reply,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (key, val, v) = unsafe {
            (
                args::out(key, "key", std::ptr::null())?,
                args::out(value, "value", std::ptr::null())?,
                val_of(reply)?,
            )
        };
        let Value::Map(pairs) = v else {
            return Err(wrong_type(v, "a map"));
        };
        let (k, x) = pairs
            .get(index)
            .ok_or_else(|| out_of_range(index, pairs.len()))?;
        key.write(borrowed(k));
        val.write(borrowed(x));
        Ok(())
    })
}

pub(crate) fn out_of_range(index: usize, len: usize) -> Failure {
    Failure::new(
        slotwise_status::OutOfRange,
        format!("index {index} is past the end ({len} items)"),
    )
}

/// Frees a reply you own (see `slotwise_reply`), with every element in it. NULL is a no-op.
/// Never pass a borrowed element, map key/value or pipeline result.
#[no_mangle]
pub unsafe extern "C" fn slotwise_reply_free(reply: *mut slotwise_reply) {
    // SAFETY: header contract: an owned reply or NULL.
    boundary(|| unsafe { args::free(reply) })
}
