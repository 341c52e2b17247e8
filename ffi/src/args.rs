//! Arguments from C: opaque handles, out-params, (pointer, length) bytes and commands. Every
//! pointer is checked for NULL here, so a NULL becomes `SLOTWISE_STATUS_NULL_ARGUMENT` with the
//! parameter's name, never a crash.

use std::ffi::c_void;

use slotwise::{Addr, Cmd};

use crate::error::Failure;
use crate::panic::call;
use crate::status::slotwise_status;

/// An opaque C type and the Rust type behind its pointers (the rustls-ffi "castable" idea):
/// C only ever sees `*mut Self`, which is really a `*mut Self::Inner`.
pub(crate) trait Handle {
    type Inner;
}

/// Moves `inner` to the heap; the caller (C) owns the result until it passes it to `free`.
pub(crate) fn into_raw<H: Handle>(inner: H::Inner) -> *mut H {
    Box::into_raw(Box::new(inner)).cast()
}

/// Borrows what a handle points at.
///
/// # Safety
/// `p` is NULL or a pointer handed out for `H` and not yet freed.
pub(crate) unsafe fn get<'a, H: Handle>(p: *const H, name: &str) -> Result<&'a H::Inner, Failure> {
    // SAFETY: per this function's contract.
    unsafe { p.cast::<H::Inner>().as_ref() }.ok_or_else(|| Failure::null(name))
}

/// Mutably borrows what a handle points at.
///
/// # Safety
/// `p` is NULL or a pointer handed out for `H`, not yet freed and not used by another thread.
pub(crate) unsafe fn get_mut<'a, H: Handle>(
    p: *mut H,
    name: &str,
) -> Result<&'a mut H::Inner, Failure> {
    // SAFETY: per this function's contract.
    unsafe { p.cast::<H::Inner>().as_mut() }.ok_or_else(|| Failure::null(name))
}

/// Takes back and drops a handle; NULL is a no-op.
///
/// # Safety
/// `p` is NULL or a pointer handed out by [`into_raw`] for `H`, not yet freed.
pub(crate) unsafe fn free<H: Handle>(p: *mut H) {
    if !p.is_null() {
        // SAFETY: per this function's contract.
        drop(unsafe { Box::from_raw(p.cast::<H::Inner>()) });
    }
}

/// An out-param, set to its "nothing" value at once so C never reads garbage after a failure.
pub(crate) struct Out<'a, T>(&'a mut T);

impl<T> Out<'_, T> {
    pub fn write(self, v: T) {
        *self.0 = v;
    }
}

/// Checks an out-param and resets it to `empty`.
///
/// # Safety
/// `p` is NULL or valid for writes of a `T`.
pub(crate) unsafe fn out<'a, T>(p: *mut T, name: &str, empty: T) -> Result<Out<'a, T>, Failure> {
    // SAFETY: per this function's contract.
    let r = unsafe { p.as_mut() }.ok_or_else(|| Failure::null(name))?;
    *r = empty;
    Ok(Out(r))
}

/// An accessor of a byte field of the handle behind `h` (named `name` in errors): resets and
/// checks the out-params, then points `*ptr`/`*len` at the bytes `field` lends (valid as long
/// as the handle), or fails with `field`'s error.
///
/// # Safety
/// `h` is NULL or a live handle; `ptr` and `len` are NULL or valid for writes.
pub(crate) unsafe fn lend_bytes<H: Handle>(
    h: *const H,
    name: &str,
    ptr: *mut *const u8,
    len: *mut usize,
    field: impl for<'a> FnOnce(&'a H::Inner) -> Result<&'a [u8], Failure>,
) -> slotwise_status {
    call(|| {
        // SAFETY: per this function's contract.
        let (ptr, len, inner) = unsafe {
            (
                out(ptr, "ptr", std::ptr::null())?,
                out(len, "len", 0)?,
                get(h, name)?,
            )
        };
        let b = field(inner)?;
        ptr.write(b.as_ptr());
        len.write(b.len());
        Ok(())
    })
}

/// An accessor of a value field of the handle behind `h`: resets `*dst` to `empty`, then
/// writes what `field` gives, or fails with its error.
///
/// # Safety
/// As [`lend_bytes`]; `dst` is NULL or valid for writes.
pub(crate) unsafe fn copy_value<H: Handle, T: Copy>(
    h: *const H,
    name: &str,
    dst: *mut T,
    empty: T,
    field: impl FnOnce(&H::Inner) -> Result<T, Failure>,
) -> slotwise_status {
    call(|| {
        // SAFETY: per this function's contract.
        let (dst, inner) = unsafe { (out(dst, "out", empty)?, get(h, name)?) };
        dst.write(field(inner)?);
        Ok(())
    })
}

/// A (pointer, length) byte argument; NULL is accepted when `len` is 0.
///
/// # Safety
/// `p` is NULL or valid for reads of `len` bytes for `'a`.
pub(crate) unsafe fn bytes<'a>(p: *const u8, len: usize, name: &str) -> Result<&'a [u8], Failure> {
    if p.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Failure::null(name))
        };
    }
    // SAFETY: per this function's contract.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A (pointer, length) UTF-8 text argument.
///
/// # Safety
/// As for [`bytes`].
pub(crate) unsafe fn text<'a>(p: *const u8, len: usize, name: &str) -> Result<&'a str, Failure> {
    // SAFETY: per this function's contract.
    let b = unsafe { bytes(p, len, name) }?;
    std::str::from_utf8(b).map_err(|_| {
        Failure::new(
            slotwise_status::InvalidUtf8,
            format!("argument {name} is not valid UTF-8"),
        )
    })
}

/// A `host:port` (or `[ipv6]:port`) address argument.
///
/// # Safety
/// As for [`bytes`].
pub(crate) unsafe fn addr(p: *const u8, len: usize, name: &str) -> Result<Addr, Failure> {
    // SAFETY: per this function's contract.
    let s = unsafe { text(p, len, name) }?;
    Ok(Addr::parse(s)?)
}

/// A command from `argc` arguments, argument `i` being `argv[i]` with `argv_len[i]` bytes.
/// The bytes are copied: C may reuse its buffers as soon as the call returns.
///
/// # Safety
/// `argv` and `argv_len` are NULL or point at `argc` elements; each `argv[i]` is NULL (only
/// with length 0) or valid for `argv_len[i]` bytes.
pub(crate) unsafe fn command(
    argc: usize,
    argv: *const *const u8,
    argv_len: *const usize,
) -> Result<Cmd, Failure> {
    if argc == 0 {
        return Err(Failure::invalid(
            "argc must be at least 1 (the command name)",
        ));
    }
    let mut cmd = Cmd::new();
    // SAFETY: per this function's contract.
    for arg in unsafe { byte_strings(argc, argv, argv_len, "argv") }? {
        cmd.push(arg);
    }
    Ok(cmd)
}

/// `count` byte strings given as two arrays: string `i` is `lens[i]` bytes at `ptrs[i]`
/// (errors name them `{name}[i]` and `{name}_len`). Empty for `count` 0, NULL arrays allowed.
///
/// # Safety
/// `ptrs` and `lens` are NULL or point at `count` elements; each `ptrs[i]` is NULL (only
/// with length 0) or valid for `lens[i]` bytes, for `'a`.
pub(crate) unsafe fn byte_strings<'a>(
    count: usize,
    ptrs: *const *const u8,
    lens: *const usize,
    name: &str,
) -> Result<Vec<&'a [u8]>, Failure> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if ptrs.is_null() {
        return Err(Failure::null(name));
    }
    if lens.is_null() {
        return Err(Failure::null(&format!("{name}_len")));
    }
    // SAFETY: per this function's contract, both arrays hold `count` elements.
    let (ptrs, lens) = unsafe {
        (
            std::slice::from_raw_parts(ptrs, count),
            std::slice::from_raw_parts(lens, count),
        )
    };
    ptrs.iter()
        .zip(lens)
        .enumerate()
        // SAFETY: per this function's contract.
        .map(|(i, (&p, &len))| unsafe { bytes(p, len, &format!("{name}[{i}]")) })
        .collect()
}

/// A C `void *user_data`, passed back untouched to the C callback it came with. The C side
/// promises (in the header) that it may be used from the threads that call the callback.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UserData(*mut c_void);

// SAFETY: slotwise never dereferences it; whether the pointee may be used from another thread
// is the C caller's promise, documented on every function that takes a user_data.
unsafe impl Send for UserData {}
// SAFETY: as above.
unsafe impl Sync for UserData {}

impl UserData {
    pub fn new(p: *mut c_void) -> Self {
        UserData(p)
    }

    /// The pointer. A method, not a field access, so closures capture the whole (Send)
    /// wrapper rather than the raw pointer inside it.
    pub fn get(self) -> *mut c_void {
        self.0
    }
}
