//! The site's receipt keys (`receipt_keys` in `site.toml`, default `receipt-keys.json`): the
//! JWK Set of public keys the relay signs consent receipts with, checked key by key
//! ([`kelisim_manifest::receipt_keys`]) and published unchanged at
//! `/.well-known/kelisim-receipt-keys.json`. A malformed file, and above all one holding a
//! private key, stops the build with the file and line of the problem: a private key must
//! never reach the published site.

use std::path::{Path, PathBuf};

use kelisim_manifest::receipt_keys::{ReceiptKey, ReceiptKeySet};

use crate::load::config::{DEFAULT_RECEIPT_KEYS, SiteConfig};
use crate::load::source::{Location, line_of};

/// Where the keys are published, relative to the site root.
pub const PUBLISHED_PATH: &str = ".well-known/kelisim-receipt-keys.json";

/// A receipt-keys file that cannot be published.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptKeysError {
    #[error(
        "{location}: {message}. Fix the file (a JWK Set: {{\"keys\": [{{\"kty\": \"OKP\", \"crv\": \"Ed25519\", \"x\": \"...\", \"kid\": \"...\"}}]}}) and build again."
    )]
    Invalid { location: Location, message: String },
    #[error("{location}: {message}.")]
    Key { location: Location, message: String },
    #[error(
        "{0}: site.toml names this receipt-keys file but it cannot be read ({1}). Fix `receipt_keys` in site.toml or add the file."
    )]
    Read(PathBuf, std::io::Error),
}

/// The checked file, as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptKeys {
    /// The file's bytes, published as they are.
    pub bytes: Vec<u8>,
    /// How many keys it holds.
    pub count: usize,
}

impl ReceiptKeys {
    /// The site's receipt keys: the file `site.toml` names, or `receipt-keys.json` if it
    /// exists; `None` when the site publishes none.
    pub fn load(root: &Path, config: &SiteConfig) -> Result<Option<Self>, ReceiptKeysError> {
        let (name, named) = match &config.receipt_keys {
            Some(name) => (name.as_str(), true),
            None => (DEFAULT_RECEIPT_KEYS, false),
        };
        let path = root.join(name);
        if !named && !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ReceiptKeysError::Read(PathBuf::from(name), e))?;
        Self::parse(&text, Path::new(name)).map(Some)
    }

    /// Checks the text of a receipt-keys file (`file` names it in errors).
    pub fn parse(text: &str, file: &Path) -> Result<Self, ReceiptKeysError> {
        let set: ReceiptKeySet =
            serde_json::from_str(text).map_err(|e| ReceiptKeysError::Invalid {
                location: Location::new(file, e.line().max(1)),
                message: format!("not a JWK Set ({e})"),
            })?;
        let members = key_members(text);
        let mut kids = std::collections::BTreeSet::new();
        for (index, key) in set.keys.iter().enumerate() {
            let at = |member: &str| {
                let line = members
                    .iter()
                    .find(|(i, name, _)| *i == index && name == member)
                    .map_or(1, |(_, _, offset)| line_of(text, *offset));
                Location::new(file, line)
            };
            if let Some(problem) = key.problems().into_iter().next() {
                return Err(ReceiptKeysError::Key {
                    location: at(&problem.member),
                    message: format!(
                        "receipt key {} (`{}`): {}",
                        index + 1,
                        key.kid,
                        problem.message
                    ),
                });
            }
            if !kids.insert(key.kid.as_str()) {
                return Err(ReceiptKeysError::Key {
                    location: at("kid"),
                    message: format!(
                        "two receipt keys have the `kid` `{}`: give each key its own",
                        key.kid
                    ),
                });
            }
        }
        Ok(Self {
            bytes: text.as_bytes().to_vec(),
            count: set.keys.len(),
        })
    }

    /// These keys with `extra` appended, for a preview that signs with a key of its own (the
    /// file is written anew; the extra key is checked like the others).
    pub fn with_extra_key(
        existing: Option<&Self>,
        extra: ReceiptKey,
    ) -> Result<Self, ReceiptKeysError> {
        let mut set = match existing {
            Some(keys) => {
                serde_json::from_slice(&keys.bytes).unwrap_or(ReceiptKeySet { keys: Vec::new() })
            }
            None => ReceiptKeySet { keys: Vec::new() },
        };
        set.keys.push(extra);
        let text = serde_json::to_string_pretty(&set).map_err(|e| ReceiptKeysError::Invalid {
            location: Location::new("(preview key)", 1),
            message: e.to_string(),
        })?;
        Self::parse(&format!("{text}\n"), Path::new("(preview key)"))
    }
}

/// Each member name of each object in the top-level `keys` array, with the key's index and the
/// name's byte offset: where an error about a key points. A small scanner, so that an error
/// names the line of the member at fault (serde_json keeps no positions).
fn key_members(text: &str) -> Vec<(usize, String, usize)> {
    let mut found = Vec::new();
    // The open containers: `{` or `[`, with whether an object is a key of the set.
    let mut stack: Vec<char> = Vec::new();
    let mut index: Option<usize> = None;
    let mut count = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => {
                let mut name = String::new();
                let mut end = text.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        c => name.push(c),
                    }
                }
                // A string followed by `:` names a member; in a key object (an object in the
                // root's array) it is one of the key's.
                let is_name = text[end..].trim_start().starts_with(':');
                if stack == ['{', '[', '{'] && is_name {
                    found.push((index.unwrap_or(0), name, at));
                }
            }
            '{' | '[' => {
                if c == '{' && stack == ['{', '['] {
                    index = Some(count);
                    count += 1;
                }
                stack.push(c);
            }
            '}' | ']' => {
                stack.pop();
            }
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &str = r#"{
  "keys": [
    {
      "kty": "OKP",
      "crv": "Ed25519",
      "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
      "kid": "2026-01",
      "use": "sig",
      "alg": "EdDSA"
    }
  ]
}
"#;

    fn parse(text: &str) -> Result<ReceiptKeys, String> {
        ReceiptKeys::parse(text, Path::new("receipt-keys.json")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_public_key_set_is_published_as_written() {
        let keys = parse(KEYS).expect("valid");
        assert_eq!(keys.bytes, KEYS.as_bytes());
        assert_eq!(keys.count, 1);
        assert_eq!(
            format!("/{PUBLISHED_PATH}"),
            kelisim_manifest::RECEIPT_KEYS_PATH
        );
    }

    #[test]
    fn the_preview_adds_its_own_key_checked_like_the_others() {
        let keys = parse(KEYS).expect("valid");
        let mut extra: ReceiptKey = serde_json::from_str(
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"preview"}"#,
        )
        .expect("key");
        let both = ReceiptKeys::with_extra_key(Some(&keys), extra.clone()).expect("valid");
        assert_eq!(both.count, 2);
        assert_eq!(
            ReceiptKeys::with_extra_key(None, extra.clone())
                .map(|k| k.count)
                .ok(),
            Some(1)
        );
        extra.other.insert("d".into(), "secret".into());
        let err = ReceiptKeys::with_extra_key(Some(&keys), extra).expect_err("private");
        assert!(err.to_string().contains("PRIVATE"), "{err}");
    }

    #[test]
    fn a_private_key_is_refused_at_its_line() {
        let private = KEYS.replace(
            "      \"kid\": \"2026-01\",",
            "      \"kid\": \"2026-01\",\n      \"d\": \"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\",",
        );
        let err = parse(&private).expect_err("private");
        assert!(
            err.starts_with(
                "receipt-keys.json:8: receipt key 1 (`2026-01`): this is a PRIVATE key"
            ),
            "{err}"
        );
    }

    #[test]
    fn malformed_files_name_their_line() {
        let err = parse("{\n  \"keys\": [\n    {\"kty\": }\n  ]\n}\n").expect_err("json");
        assert!(
            err.starts_with("receipt-keys.json:3: not a JWK Set"),
            "{err}"
        );
        let twice = KEYS.replace("  ]", "  ,{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\",\n\"kid\":\"2026-01\"}]");
        let err = parse(&twice).expect_err("same kid");
        assert!(
            err.starts_with("receipt-keys.json:12: two receipt keys"),
            "{err}"
        );
    }
}
