//! Core `tracing` events → Python `logging`, logger `slotwise` (a target `slotwise::refresh`
//! logs to `slotwise.refresh`).
//!
//! Events below the effective level of the `slotwise` logger are dropped in Rust without
//! touching Python. That level is read when the module is imported and again whenever a
//! client is created, so set it before connecting. Events that pass are handed to Python on
//! the thread that produced them, which waits for the GIL; the core logs rarely above DEBUG.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};

use pyo3::prelude::*;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

/// The `logging` level number at or above which events are forwarded (WARNING by default).
static THRESHOLD: AtomicU8 = AtomicU8::new(30);

fn py_level(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 40,
        Level::WARN => 30,
        Level::INFO => 20,
        Level::DEBUG => 10,
        _ => 5,
    }
}

/// Installs the bridge as the process-wide subscriber, unless the process already has one.
pub fn install(py: Python<'_>) {
    refresh_level(py);
    let _ = tracing::subscriber::set_global_default(ToPython);
}

/// Re-reads the effective level of the `slotwise` logger.
pub fn refresh_level(py: Python<'_>) {
    let level = py
        .import("logging")
        .and_then(|l| l.call_method1("getLogger", ("slotwise",)))
        .and_then(|l| l.call_method0("getEffectiveLevel"))
        .and_then(|l| l.extract::<i64>());
    if let Ok(level) = level {
        THRESHOLD.store(level.clamp(0, 255) as u8, Ordering::Relaxed);
    }
}

#[derive(Debug)]
struct ToPython;

impl Subscriber for ToPython {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // The threshold can change at run time: ask `enabled` every time.
        Interest::sometimes()
    }

    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        meta.is_event() && py_level(meta.level()) >= THRESHOLD.load(Ordering::Relaxed)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let mut text = Text::default();
        event.record(&mut text);
        let logger = meta.target().replace("::", ".");
        let level = py_level(meta.level());
        // Not during interpreter shutdown: then there is no one to log to.
        crate::gate::with_python(|py| {
            let _ = py
                .import("logging")
                .and_then(|l| l.call_method1("getLogger", (logger,)))
                .and_then(|l| l.call_method1("log", (level, text.0)));
        });
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// `message key=value key=value`.
#[derive(Default)]
struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let rest = std::mem::take(&mut self.0);
            let _ = write!(self.0, "{value:?}{rest}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}
