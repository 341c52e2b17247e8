//! `slotwise_health_check`: proof that every primary accepts a write, with per-node results.

use slotwise::{blocking, HealthReport};

use crate::args::{self, Handle};
use crate::client::{self, slotwise_client};
use crate::error::Failure;
use crate::panic::{boundary, call};
use crate::reply::out_of_range;
use crate::status::slotwise_status;

/// The result of `slotwise_health_check`: healthy or not, and one entry per primary probed.
/// Free with `slotwise_health_report_free`.
///
/// Thread-safety: immutable; its accessors may be called from several threads at once.
#[derive(Debug)]
pub struct slotwise_health_report {
    _private: [u8; 0],
}

pub(crate) struct HealthInner {
    report: HealthReport,
    /// `host:port` of each node, kept so C can borrow the bytes.
    addrs: Vec<String>,
    /// Each node's error message, empty when its probe succeeded.
    errors: Vec<String>,
}

impl Handle for slotwise_health_report {
    type Inner = HealthInner;
}

/// Writes a short-lived probe key on every primary (in parallel, within the request timeout)
/// and writes the report to `*out` (free with `slotwise_health_report_free`). Unhealthy when a
/// primary refuses the write (e.g. it was demoted and answers READONLY), does not answer, or
/// a slot has no primary. Returns `SLOTWISE_STATUS_OK` whenever a report was made, healthy or
/// not. Blocking; thread-safe.
#[no_mangle]
pub unsafe extern "C" fn slotwise_health_check(
    client: *const slotwise_client,
    out: *mut *mut slotwise_health_report,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, c) = unsafe {
            (
                args::out(out, "out", std::ptr::null_mut())?,
                client::get(client)?,
            )
        };
        let report = blocking::block_on(client::core(c)?.health_check())?;
        let addrs = report.nodes.iter().map(|n| n.addr.to_string()).collect();
        let errors = report
            .nodes
            .iter()
            .map(|n| n.error.as_ref().map(|e| e.to_string()).unwrap_or_default())
            .collect();
        out.write(args::into_raw::<slotwise_health_report>(HealthInner {
            report,
            addrs,
            errors,
        }));
        Ok(())
    })
}

/// Borrows the report behind `report`.
///
/// # Safety
/// `report` is NULL or a live report.
unsafe fn get<'a>(report: *const slotwise_health_report) -> Result<&'a HealthInner, Failure> {
    // SAFETY: per this function's contract.
    unsafe { args::get(report, "report") }
}

/// Writes whether every primary accepted the write probe and every slot has a primary.
#[no_mangle]
pub unsafe extern "C" fn slotwise_health_report_is_healthy(
    report: *const slotwise_health_report,
    out: *mut bool,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, r) = unsafe { (args::out(out, "out", false)?, get(report)?) };
        out.write(r.report.healthy);
        Ok(())
    })
}

/// Writes the number of hash slots with no known primary (cluster mode; 0 otherwise).
#[no_mangle]
pub unsafe extern "C" fn slotwise_health_report_uncovered_slots(
    report: *const slotwise_health_report,
    out: *mut usize,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, r) = unsafe { (args::out(out, "out", 0)?, get(report)?) };
        out.write(r.report.uncovered_slots);
        Ok(())
    })
}

/// Writes the number of primaries probed.
#[no_mangle]
pub unsafe extern "C" fn slotwise_health_report_node_count(
    report: *const slotwise_health_report,
    out: *mut usize,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (out, r) = unsafe { (args::out(out, "out", 0)?, get(report)?) };
        out.write(r.report.nodes.len());
        Ok(())
    })
}

/// Borrows entry `index` (`SLOTWISE_STATUS_OUT_OF_RANGE` past the last one).
fn node_at(r: &HealthInner, index: usize) -> Result<&slotwise::NodeReport, Failure> {
    r.report
        .nodes
        .get(index)
        .ok_or_else(|| out_of_range(index, r.report.nodes.len()))
}

/// Reads entry `index`: the primary's address (`host:port` bytes, borrowed from the report),
/// its probe's status (`SLOTWISE_STATUS_OK`, or why it failed: the message through
/// `slotwise_health_report_node_error`), and the probe's round trip in microseconds (0 when
/// it failed). `SLOTWISE_STATUS_OUT_OF_RANGE` past the last entry.
#[no_mangle]
pub unsafe extern "C" fn slotwise_health_report_node(
    report: *const slotwise_health_report,
    index: usize,
    addr: *mut *const u8,
    addr_len: *mut usize,
    node_status: *mut slotwise_status,
    latency_us: *mut u64,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (addr, addr_len, node_status, latency_us, r) = unsafe {
            (
                args::out(addr, "addr", std::ptr::null())?,
                args::out(addr_len, "addr_len", 0)?,
                args::out(node_status, "node_status", slotwise_status::Ok)?,
                args::out(latency_us, "latency_us", 0)?,
                get(report)?,
            )
        };
        let node = node_at(r, index)?;
        addr.write(r.addrs[index].as_ptr());
        addr_len.write(r.addrs[index].len());
        node_status.write(node.error.as_ref().map_or(slotwise_status::Ok, |e| {
            slotwise_status::from_kind(e.kind())
        }));
        latency_us.write(
            node.latency
                .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
        );
        Ok(())
    })
}

/// Points `*ptr`/`*len` at the message of entry `index`'s failed probe (text bytes, borrowed
/// from the report; empty when the probe succeeded).
#[no_mangle]
pub unsafe extern "C" fn slotwise_health_report_node_error(
    report: *const slotwise_health_report,
    index: usize,
    ptr: *mut *const u8,
    len: *mut usize,
) -> slotwise_status {
    call(|| {
        // SAFETY: header contract.
        let (ptr, len, r) = unsafe {
            (
                args::out(ptr, "ptr", std::ptr::null())?,
                args::out(len, "len", 0)?,
                get(report)?,
            )
        };
        node_at(r, index)?;
        ptr.write(r.errors[index].as_ptr());
        len.write(r.errors[index].len());
        Ok(())
    })
}

/// Frees a report. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn slotwise_health_report_free(report: *mut slotwise_health_report) {
    // SAFETY: header contract.
    boundary(|| unsafe { args::free(report) })
}
