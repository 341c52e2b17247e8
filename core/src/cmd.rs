//! Commands as the client sends them: a list of binary-safe arguments.

use bytes::Bytes;

/// One command: its name and arguments, each binary-safe.
///
/// ```
/// use slotwise::{cmd, Cmd};
/// let c: Cmd = cmd("SET").arg("greeting").arg(b"hello".as_slice()).arg("EX").arg(60);
/// assert_eq!(c.args().len(), 5);
/// assert_eq!(c.name_upper(), b"SET");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Cmd {
    args: Vec<Bytes>,
}

/// Starts a command with its name.
pub fn cmd(name: &str) -> Cmd {
    Cmd::new().arg(name)
}

impl Cmd {
    /// An empty command; add the name first.
    pub fn new() -> Self {
        Cmd { args: Vec::new() }
    }

    /// A command from already-built arguments.
    pub fn from_args<I, A>(args: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: ToArg,
    {
        Cmd {
            args: args.into_iter().map(|a| a.to_arg()).collect(),
        }
    }

    /// Appends one argument.
    #[must_use]
    pub fn arg(mut self, a: impl ToArg) -> Self {
        self.args.push(a.to_arg());
        self
    }

    /// Appends one argument in place.
    pub fn push(&mut self, a: impl ToArg) {
        self.args.push(a.to_arg());
    }

    /// All arguments, the command name first.
    pub fn args(&self) -> &[Bytes] {
        &self.args
    }

    /// The command name in upper case (empty for an empty command).
    pub fn name_upper(&self) -> Vec<u8> {
        self.args
            .first()
            .map(|a| a.to_ascii_uppercase())
            .unwrap_or_default()
    }

    /// True when the command has no name.
    pub fn is_empty(&self) -> bool {
        self.args.is_empty()
    }
}

/// Anything that can be one command argument.
pub trait ToArg {
    /// The argument's bytes.
    fn to_arg(&self) -> Bytes;
}

impl ToArg for Bytes {
    fn to_arg(&self) -> Bytes {
        self.clone()
    }
}
impl ToArg for &str {
    fn to_arg(&self) -> Bytes {
        Bytes::copy_from_slice(self.as_bytes())
    }
}
impl ToArg for String {
    fn to_arg(&self) -> Bytes {
        Bytes::copy_from_slice(self.as_bytes())
    }
}
impl ToArg for &String {
    fn to_arg(&self) -> Bytes {
        Bytes::copy_from_slice(self.as_bytes())
    }
}
impl ToArg for &[u8] {
    fn to_arg(&self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
}
impl<const N: usize> ToArg for &[u8; N] {
    fn to_arg(&self) -> Bytes {
        Bytes::copy_from_slice(self.as_slice())
    }
}
impl ToArg for Vec<u8> {
    fn to_arg(&self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
}
macro_rules! int_arg {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn to_arg(&self) -> Bytes {
                Bytes::from(self.to_string())
            }
        }
    )*};
}
int_arg!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f64);
