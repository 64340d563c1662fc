//! `records verify` (issue #16): whether each record's consent stamp still leads to the exact
//! texts its sender saw, on the site as published. The same use case for the console
//! (`kelisim-relay records verify`), the host's daily timer and the scheduled Lambda purge.
//!
//! The site's own consent manifest says where each version's texts are; each distinct URL
//! is read once per run, hashed once, and every record of that version is judged against it
//! (`domain::verify`). Records come through the [`RecordStore`] trait, so it works on every
//! store.

use std::collections::HashMap;

use kelisim_manifest::{ConsentManifest, MANIFEST_FILE, MANIFEST_SCHEMA_VERSION};

use crate::domain::record::{ConsentRecord, RecordId};
use crate::domain::verify::{
    LabelsFile, Published, StampCheck, Texts, check, label_hashes, locate, policy_text_sha256,
};
use crate::published::{PublishedSite, SiteError, SitePath};
use crate::store::{RecordStore, StoreError};

/// Why the verification could not run at all (as opposed to a record that is unverifiable,
/// which is a result). Names the site and the kind of failure, never a record's content.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read the site's consent manifest at {site}: {why}")]
    Manifest { site: String, why: String },
    #[error("no record has the id {0}")]
    NoSuchRecord(RecordId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Every record, oldest first, each with its result.
pub async fn verify_all<S: RecordStore + ?Sized>(
    records: &S,
    site: &dyn PublishedSite,
) -> Result<Vec<StampCheck>, VerifyError> {
    let mut reader = Reader::open(site).await?;
    let mut checks = Vec::new();
    for record in records.list_records().await? {
        checks.push(reader.check(&record).await);
    }
    Ok(checks)
}

/// The record with this id, with its result.
pub async fn verify_one<S: RecordStore + ?Sized>(
    records: &S,
    site: &dyn PublishedSite,
    id: RecordId,
) -> Result<StampCheck, VerifyError> {
    let record = records
        .get_record(id)
        .await?
        .ok_or(VerifyError::NoSuchRecord(id))?;
    let mut reader = Reader::open(site).await?;
    Ok(reader.check(&record).await)
}

/// The site's manifest, and what each URL gave, read once.
struct Reader<'a> {
    site: &'a dyn PublishedSite,
    manifest: ConsentManifest,
    pages: HashMap<String, Published<String>>,
    labels: HashMap<String, Published<LabelsFile>>,
}

impl<'a> Reader<'a> {
    /// Reads the manifest the site publishes at its root: the index of every version's texts
    /// that the site itself stands behind.
    async fn open(site: &'a dyn PublishedSite) -> Result<Self, VerifyError> {
        let failed = |why: String| VerifyError::Manifest {
            site: site.describe(),
            why,
        };
        let path = SitePath::root_file(MANIFEST_FILE).map_err(|e| failed(e.to_string()))?;
        let bytes = site
            .fetch(&path)
            .await
            .map_err(|e| failed(e.to_string()))?
            .ok_or_else(|| failed(format!("no {MANIFEST_FILE}")))?;
        // Parsed without `ConsentManifest::from_json`'s check of the form's fields against
        // this relay's: only the languages and versions are read here, and a site built by
        // another kelisim version still says where its texts are.
        let manifest: ConsentManifest =
            serde_json::from_slice(&bytes).map_err(|e| failed(e.to_string()))?;
        if manifest.schema_version != MANIFEST_SCHEMA_VERSION {
            return Err(failed(format!(
                "schema version {}, this relay reads {MANIFEST_SCHEMA_VERSION}",
                manifest.schema_version
            )));
        }
        Ok(Self {
            site,
            manifest,
            pages: HashMap::new(),
            labels: HashMap::new(),
        })
    }

    async fn check(&mut self, record: &ConsentRecord) -> StampCheck {
        let Some(located) = locate(&self.manifest, &record.consent) else {
            return check(record.id, &record.consent, None);
        };
        let policy = match self.pages.get(&located.policy_url) {
            Some(policy) => policy.clone(),
            None => {
                let page = self.fetch(&located.policy_url).await;
                let policy = page.and_then(|bytes| policy_text_sha256(&bytes));
                self.pages
                    .insert(located.policy_url.clone(), policy.clone());
                policy
            }
        };
        let labels = match &located.labels_url {
            None => None,
            Some(url) => Some(match self.labels.get(url) {
                Some(labels) => labels.clone(),
                None => {
                    let file = self.fetch(url).await;
                    let labels = file.and_then(|bytes| label_hashes(&bytes));
                    self.labels.insert(url.clone(), labels.clone());
                    labels
                }
            }),
        };
        let texts = Texts {
            located: &located,
            policy: &policy,
            labels: labels.as_ref(),
        };
        check(record.id, &record.consent, Some(texts))
    }

    /// What the site has at `url`, one of the manifest's URLs.
    async fn fetch(&self, url: &str) -> Published<Vec<u8>> {
        let fetched = match SitePath::under(&self.manifest.base_url, url) {
            Ok(path) => self.site.fetch(&path).await,
            Err(refused) => Err(refused),
        };
        match fetched {
            Ok(Some(bytes)) => Published::Found(bytes),
            Ok(None) => Published::NotFound,
            Err(error) => Published::Unreadable(unreadable(&error)),
        }
    }
}

/// The error as a record's result says it (the URL is said beside it already).
fn unreadable(error: &SiteError) -> String {
    match error {
        SiteError::NotUnder { base, .. } => format!("not under the site's base URL {base}"),
        SiteError::Escapes(_) => "the path leaves the site".to_owned(),
        other => other.to_string(),
    }
}
