//! `slotwise._slotwise`: the compiled half of the Python package. Each file converts one
//! concern between Python and the core; no client logic lives here (see STYLE.md rule 1).
//! The Python half (`python/slotwise/`) builds the command methods on top of `execute`.

mod asyncio;
mod callbacks;
mod client;
mod convert;
mod errors;
mod gate;
mod logging;
mod options;
mod pipeline;
mod pubsub;
mod report;
mod scan;
mod topology;
mod transaction;
mod url;

use pyo3::prelude::*;

#[pymodule]
fn _slotwise(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    m.add_class::<client::NativeClient>()?;
    m.add_class::<scan::NativeScan>()?;
    m.add_class::<transaction::NativeTransaction>()?;
    m.add_function(wrap_pyfunction!(url::parse_url, m)?)?;
    m.add_function(wrap_pyfunction!(gate::at_exit, m)?)?;
    m.add_class::<pubsub::NativePubSub>()?;
    m.add_class::<asyncio::LoopWaker>()?;
    logging::install(m.py());
    Ok(())
}
