//! The policy archive: superseded versions of the privacy policy stay published, so every
//! consent record keeps pointing at the exact text it was given under.
//!
//! A record stores the policy's versioned URL and the SHA-256 of its rendered body (policy
//! §7.1, §12.2). When an editor raises `version` in `content/<lang>/privacy.md`, the old
//! `/<lang>/privacy/<old>/` page would vanish and those records would point at a 404. So the
//! editor first copies the old file, unchanged, to
//! `content/<lang>/privacy/archive/<version>.md` (see [`ARCHIVE_DIR`]): same front matter
//! (`title`, `version`, `effective_date`, ...), the old body verbatim. The build then:
//!
//! * republishes it at `/<lang>/privacy/<version>/`, its body rendered exactly like a current
//!   policy's, so the hash recomputed from the page is the one the old records hold;
//! * shows a notice that the version is superseded (with its effective date and a link to the
//!   current policy) and marks the page `noindex`: it exists as proof, not for search;
//! * leaves it out of `sitemap.xml` for the same reason (the sitemap lists what search engines
//!   should index, and a `noindex` page there would contradict itself);
//! * lists it, newest first, on the current policy page and in the manifest's
//!   `previous_policies` with its own hash. The relay still accepts only the current version.

use std::collections::HashMap;
use std::path::PathBuf;

use time::Date;

use crate::load::content::SourcePage;
use crate::load::front_matter::MissingPolicyField;
use crate::load::source::Location;

/// Where superseded policies live inside a language folder: `content/<lang>/privacy/archive/`,
/// one file per version, named `<version>.md`. Not a page folder: nothing in it is published
/// at `/<lang>/privacy/archive/...`.
pub const ARCHIVE_DIR: &str = "privacy/archive";

/// Whether a content file is an archived policy rather than an ordinary page.
pub fn is_archived(page: &SourcePage) -> bool {
    page.rel_path
        .strip_prefix(ARCHIVE_DIR)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// An archive file an editor has to fix; each message names the file and line.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(
        "{}: the archived policy has no `{}`. Keep the front matter the text had when it was current, for example `{} = {}`.",
        .0.location, .0.field, .0.field, .0.example
    )]
    MissingField(MissingPolicyField),
    #[error(
        "{location}: version `{version}` is archived, but it is also the current version in {current}. The archive holds only earlier versions: raise `version` in {current} or delete this file."
    )]
    SameAsCurrent {
        location: Location,
        version: String,
        current: PathBuf,
    },
    #[error(
        "{location}: version `{version}` is archived twice, here and in {other}. Keep one file per version."
    )]
    Duplicate {
        location: Location,
        version: String,
        other: PathBuf,
    },
    #[error(
        "{location}: the file name says version `{file_version}` but the front matter says `{version}`. Name the file `{version}.md`, or write `version = \"{file_version}\"` (in quotes: `1.0` without quotes is read as the number 1)."
    )]
    NameMismatch {
        location: Location,
        version: String,
        file_version: String,
    },
    #[error(
        "{file}: there is no current policy in `{lang}` for this archived version. Add content/{lang}/privacy.md."
    )]
    NoCurrentPolicy { file: PathBuf, lang: String },
    #[error(
        "{location}: version `{version}` would be published at {url}, which {other} already uses. Rename that page."
    )]
    UrlTaken {
        location: Location,
        version: String,
        url: String,
        other: PathBuf,
    },
}

/// One checked, superseded policy version: its file (`P` = [`SourcePage`]) or, once the site
/// model has rendered it, its page.
#[derive(Debug, Clone)]
pub struct ArchiveEntry<P = SourcePage> {
    /// The archive file; its `url` is the permanent URL (`/<lang>/privacy/<version>/`).
    pub page: P,
    pub version: String,
    pub effective_date: Date,
    /// Site-relative URL of the current policy in the same language.
    pub current_url: String,
}

impl<P> ArchiveEntry<P> {
    /// The same entry with its page turned into another form (the rendered page).
    pub fn try_map<Q, E>(self, f: impl FnOnce(P) -> Result<Q, E>) -> Result<ArchiveEntry<Q>, E> {
        Ok(ArchiveEntry {
            page: f(self.page)?,
            version: self.version,
            effective_date: self.effective_date,
            current_url: self.current_url,
        })
    }
}

/// Checks the archive files against each other and against the current policies (`pages`
/// without archive files; `policy_key` is the policy's translation key) and gives each its
/// permanent URL.
pub fn collect(
    pages: &[SourcePage],
    archived: Vec<SourcePage>,
    policy_key: &str,
) -> Result<Vec<ArchiveEntry>, ArchiveError> {
    check_no_duplicates(&archived)?;
    let mut out = archived
        .into_iter()
        .map(|page| entry(pages, page, policy_key))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by(|a, b| {
        a.page
            .lang
            .cmp(&b.page.lang)
            .then(b.effective_date.cmp(&a.effective_date))
            .then_with(|| b.version.cmp(&a.version))
    });
    Ok(out)
}

/// Duplicates first: with two files for one version, at least one also has the wrong file
/// name, and "archived twice" is the message that tells the editor what happened.
fn check_no_duplicates(archived: &[SourcePage]) -> Result<(), ArchiveError> {
    let mut seen: HashMap<(&str, &str), &SourcePage> = HashMap::new();
    for page in archived {
        let Some(version) = page.front.version.as_deref() else {
            continue;
        };
        if let Some(other) = seen.insert((page.lang.as_str(), version), page) {
            return Err(ArchiveError::Duplicate {
                location: Location::new(&page.source, page.front.version_line),
                version: version.to_owned(),
                other: other.source.clone(),
            });
        }
    }
    Ok(())
}

/// One archive file checked against the current policy of its language, at its permanent URL.
fn entry(
    pages: &[SourcePage],
    mut page: SourcePage,
    policy_key: &str,
) -> Result<ArchiveEntry, ArchiveError> {
    let (version, effective_date) = page
        .front
        .policy_version(&page.source)
        .map_err(ArchiveError::MissingField)?;
    let at_version = Location::new(&page.source, page.front.version_line);
    let current = pages
        .iter()
        .find(|p| p.lang == page.lang && p.translation_key == policy_key)
        .ok_or_else(|| ArchiveError::NoCurrentPolicy {
            file: page.source.clone(),
            lang: page.lang.to_string(),
        })?;
    if current.front.version.as_deref() == Some(version.as_str()) {
        return Err(ArchiveError::SameAsCurrent {
            location: at_version,
            version,
            current: current.source.clone(),
        });
    }
    let file_version = page.rel_path.rsplit('/').next().unwrap_or_default();
    if file_version != version {
        return Err(ArchiveError::NameMismatch {
            location: at_version,
            version,
            file_version: file_version.to_owned(),
        });
    }
    let url = format!("{}{version}/", current.url);
    if let Some(other) = pages.iter().find(|p| p.url == url) {
        return Err(ArchiveError::UrlTaken {
            location: at_version,
            version,
            url,
            other: other.source.clone(),
        });
    }
    page.url = url;
    Ok(ArchiveEntry {
        page,
        version,
        effective_date,
        current_url: current.url.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn page(lang: &str, rel: &str, front: &str) -> SourcePage {
        let source = PathBuf::from(format!("content/{lang}/{rel}.md"));
        crate::load::content::parse_page(
            lang,
            Path::new(&source),
            rel,
            &format!("+++\n{front}+++\nText\n"),
        )
        .expect("valid front matter")
    }

    fn current() -> Vec<SourcePage> {
        vec![
            page(
                "kk",
                "privacy",
                "title = \"P\"\nversion = \"2\"\neffective_date = \"2025-01-01\"\n",
            ),
            page("kk", "privacy/1", "title = \"Not archived\"\n"),
        ]
    }

    fn archived(rel: &str, version: &str, date: &str) -> SourcePage {
        page(
            "kk",
            rel,
            &format!("title = \"P\"\nversion = \"{version}\"\neffective_date = \"{date}\"\n"),
        )
    }

    #[test]
    fn only_files_under_the_archive_folder_are_archived() {
        assert!(is_archived(&archived(
            "privacy/archive/1.0",
            "1.0",
            "2024-01-01"
        )));
        assert!(!is_archived(&page("kk", "privacy", "title = \"P\"\n")));
        assert!(!is_archived(&page(
            "kk",
            "privacy/archived",
            "title = \"P\"\n"
        )));
    }

    #[test]
    fn gives_permanent_urls_newest_first() {
        let got = collect(
            &current(),
            vec![
                archived("privacy/archive/1.0", "1.0", "2023-01-01"),
                archived("privacy/archive/1.5", "1.5", "2024-01-01"),
            ],
            "privacy",
        )
        .expect("valid archive");
        let urls: Vec<&str> = got.iter().map(|a| a.page.url.as_str()).collect();
        assert_eq!(urls, ["/kk/privacy/1.5/", "/kk/privacy/1.0/"]);
        assert!(got.iter().all(|a| a.current_url == "/kk/privacy/"));
    }

    #[test]
    fn editor_mistakes_name_file_and_line() {
        let check = |files: Vec<SourcePage>| {
            collect(&current(), files, "privacy")
                .expect_err("invalid archive")
                .to_string()
        };
        let err = check(vec![archived("privacy/archive/2", "2", "2024-01-01")]);
        assert!(
            err.starts_with("content/kk/privacy/archive/2.md:3:"),
            "{err}"
        );
        assert!(err.contains("current version"), "{err}");

        let err = check(vec![
            archived("privacy/archive/1.0-copy", "1.0", "2024-01-01"),
            archived("privacy/archive/1.0", "1.0", "2024-01-01"),
        ]);
        assert!(
            err.starts_with("content/kk/privacy/archive/1.0.md:3:"),
            "{err}"
        );
        assert!(err.contains("archived twice"), "{err}");

        let err = check(vec![archived("privacy/archive/1.0", "1.1", "2024-01-01")]);
        assert!(
            err.starts_with("content/kk/privacy/archive/1.0.md:3:"),
            "{err}"
        );
        assert!(err.contains("`1.0`") && err.contains("`1.1`"), "{err}");

        let err = check(vec![page(
            "kk",
            "privacy/archive/1.0",
            "title = \"P\"\nversion = \"1.0\"\n",
        )]);
        assert!(
            err.starts_with("content/kk/privacy/archive/1.0.md:1:"),
            "{err}"
        );
        assert!(err.contains("effective_date"), "{err}");

        let err = check(vec![page("kk", "privacy/archive/1.0", "title = \"P\"\n")]);
        assert!(err.contains("no `version`"), "{err}");

        let err = check(vec![archived("privacy/archive/1", "1", "2024-01-01")]);
        assert!(err.contains("content/kk/privacy/1.md"), "{err}");

        let err = collect(
            &[],
            vec![archived("privacy/archive/1", "1", "2024-01-01")],
            "privacy",
        )
        .expect_err("no current policy")
        .to_string();
        assert!(err.contains("content/kk/privacy.md"), "{err}");
    }
}
