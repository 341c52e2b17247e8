//! The ACL user and password a connection authenticates with, replaceable on a live client.

use std::fmt;
use std::sync::{Arc, RwLock};

/// User name and password; `Debug` never shows the password.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub username: Option<String>,
    pub password: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Shared by every connection a pool opens: connections opened after [`SharedCredentials::set`]
/// authenticate with the new secret; open ones stay as they are (the server keeps them
/// authenticated).
#[derive(Clone, Debug, Default)]
pub(crate) struct SharedCredentials(Arc<RwLock<Credentials>>);

impl SharedCredentials {
    pub fn new(c: Credentials) -> Self {
        SharedCredentials(Arc::new(RwLock::new(c)))
    }

    pub fn get(&self) -> Credentials {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set(&self, c: Credentials) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = c;
    }
}
