//! The one place where core errors become JavaScript errors. The class tree lives in
//! `lib/errors.js`; its factory `makeError(code, numericCode, message, mayHaveRun)` is handed
//! to every native client, and every error the addon produces (a failed command, a failed
//! pipeline entry, an error nested in a reply, a failed connect) is built by calling it.

use napi::bindgen_prelude::{FnArgs, Function, FunctionRef, Unknown};
use napi::{Env, Result};
use slotwise::Error;

/// `makeError(code, numericCode, message, mayHaveRun)`: `code` is the core's stable
/// `ErrorKind` name (`"CLUSTERDOWN"`), `numericCode` its stable number.
pub type Factory = FunctionRef<FactoryArgs, Unknown<'static>>;
/// The factory as it arrives from JavaScript.
pub type FactoryFn<'e> = Function<'e, FactoryArgs, Unknown<'static>>;
type FactoryArgs = FnArgs<(&'static str, u32, String, bool)>;

/// The JavaScript error instance for a core error.
pub fn to_js<'e>(env: &'e Env, factory: &Factory, e: &Error) -> Result<Unknown<'e>> {
    let kind = e.kind();
    factory
        .borrow_back(env)?
        .call((kind.name(), kind.code(), e.to_string(), e.may_have_run()).into())
}
