//! [`Lang`]: a language code of the site (`kk`, `ru`), as `site.toml` lists it, typed so that
//! a language is never confused with any other string.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A BCP 47 language tag from `site.toml` (`kk`, `ru`), used in URLs, `lang`, `hreflang`,
/// Fluent and the consent manifest. `site.toml` checks it; other code only compares it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Lang(String);

impl Lang {
    pub fn new(code: impl Into<String>) -> Self {
        Self(code.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Lang {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Lets maps keyed by `Lang` be searched with a `&str` (the hash and order are the string's).
impl Borrow<str> for Lang {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Lang {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Lang {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}
