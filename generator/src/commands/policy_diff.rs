//! `kelisim policy diff A B [--lang L]`: two published versions of the site's policy, found
//! in the loaded site, compared word by word for the editor (the comparison itself is
//! [`crate::render::diff`], which the "what changed" pages share). Kept apart from `diff` so the page
//! renderer, which uses `diff`, does not depend on the build that uses the renderer.

use crate::render::diff::{diff, to_text};

/// `kelisim policy diff A B [--lang L]`: the site at `root` loaded, versions `a` and `b` of the
/// policy in `lang` (default: the site's default language) compared, as [`to_text`].
pub fn diff_versions(
    root: &std::path::Path,
    a: &str,
    b: &str,
    lang: Option<&str>,
) -> Result<String, DiffError> {
    let loaded = crate::build::load_site(&crate::build::BuildOptions::new(root))
        .map_err(|e| DiffError::Build(Box::new(e)))?;
    let policies = &loaded.model.policies;
    let lang = lang.unwrap_or(loaded.model.default_lang().as_str());
    let find = |version: &str| {
        policies
            .version(lang, version)
            .ok_or_else(|| DiffError::Unknown {
                lang: lang.to_owned(),
                version: version.to_owned(),
                published: policies
                    .history(lang)
                    .map(|t| t.version.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    };
    let (old, new) = (find(a)?, find(b)?);
    Ok(to_text(&diff(&old.blocks, &new.blocks)))
}

/// Why two versions could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("the site does not build: {0}")]
    Build(Box<crate::error::BuildError>),
    #[error(
        "policy version `{version}` is not published in `{lang}` (published: {published}). Name one of those, or another language with --lang."
    )]
    Unknown {
        lang: String,
        version: String,
        published: String,
    },
}
