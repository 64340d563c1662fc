//! Delivering the outbox: the operator's notification (mail, webhook), the double opt-in
//! link and a request's confirmation, after what they are about was committed.
//!
//! One round ([`Deliverer::run_once`]) takes the due items, claims each (so two deliverers —
//! the server's background task and a `kelisim-relay deliver` from cron, or two Lambda
//! invocations — never send the same one), sends it, and removes it once the mail server or
//! webhook accepted it; a failure schedules a retry with [`backoff`]. A record is never lost
//! or delayed by any of this: it was stored before the visitor was answered.

use std::sync::Arc;

use kelisim_manifest::ConsentManifest;
use time::OffsetDateTime;

use super::mail::{Composer, DeliverySettings, webhook_payload};
use super::send::{MailTransport, SendError, WebhookTransport};
use crate::domain::hmac_key::HmacKey;
use crate::domain::messages::Messages;
use crate::domain::outbox::{Channel, OutboxItem, OutboxKind, backoff};
use crate::store::{Store, StoreError};

/// Where an item stands after one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Accepted by the mail server or the webhook: remove it.
    Delivered,
    /// Nothing left to send (the record was erased, the grant was confirmed or lapsed, the
    /// channel is no longer configured): remove it.
    Obsolete,
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    /// Failed this time; scheduled again.
    pub retried: usize,
    /// Dropped because nothing was left to send.
    pub dropped: usize,
}

impl std::fmt::Display for DeliveryReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} delivered, {} to retry, {} dropped (nothing left to send)",
            self.delivered, self.retried, self.dropped
        )
    }
}

/// Sends what the outbox owes.
#[derive(Clone)]
pub struct Deliverer {
    store: Arc<dyn Store>,
    composer: Composer,
    mailer: Option<Arc<dyn MailTransport>>,
    webhook: Option<Arc<dyn WebhookTransport>>,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer")
            .field("mail", &self.mailer.is_some())
            .field("webhook", &self.webhook.is_some())
            .finish_non_exhaustive()
    }
}

/// Items taken per round; the rest wait for the next round.
const ROUND_LIMIT: usize = 100;

impl Deliverer {
    pub fn new(
        store: Arc<dyn Store>,
        key: HmacKey,
        manifest: Arc<ConsentManifest>,
        messages: Messages,
        settings: DeliverySettings,
    ) -> Self {
        Self {
            store,
            composer: Composer {
                key,
                manifest,
                messages,
                settings,
            },
            mailer: None,
            webhook: None,
        }
    }

    pub fn with_mailer(mut self, mailer: Arc<dyn MailTransport>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    pub fn with_webhook(mut self, webhook: Arc<dyn WebhookTransport>) -> Self {
        self.webhook = Some(webhook);
        self
    }

    /// Uses a newer manifest and its messages (the preview rebuilds the site).
    pub fn with_manifest(mut self, manifest: Arc<ConsentManifest>, messages: Messages) -> Self {
        self.composer.manifest = manifest;
        self.composer.messages = messages;
        self
    }

    /// Delivers every item due at `now`. Store errors end the round (the next one retries);
    /// send errors only reschedule their item.
    pub async fn run_once(&self, now: OffsetDateTime) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        for due in self.store.list_due_items(now, ROUND_LIMIT).await? {
            let Some(item) = self.store.claim_item(due.id, now).await? else {
                continue;
            };
            match self.attempt(&item, now).await {
                Ok(fate) => {
                    self.store.remove_item(item.id).await?;
                    match fate {
                        Fate::Delivered => report.delivered += 1,
                        Fate::Obsolete => report.dropped += 1,
                    }
                    tracing::info!(item = %item.id, kind = %item.kind.label(), ?fate, "outbox item done");
                }
                Err(error) => {
                    let next = now + backoff(item.attempts);
                    tracing::warn!(
                        item = %item.id,
                        kind = %item.kind.label(),
                        attempts = item.attempts,
                        %error,
                        "delivery failed; will retry"
                    );
                    self.store.reschedule_item(item.id, next, &error.0).await?;
                    report.retried += 1;
                }
            }
        }
        Ok(report)
    }

    /// One attempt at one item.
    async fn attempt(&self, item: &OutboxItem, now: OffsetDateTime) -> Result<Fate, SendError> {
        let Some(record_id) = item.kind.record_id() else {
            return self.attempt_request(item).await;
        };
        let record = self
            .store
            .get_record(record_id)
            .await
            .map_err(|e| SendError(format!("store: {e}")))?;
        let Some(record) = record else {
            return Ok(Fate::Obsolete);
        };
        // A blocked record is in no notification (§2.2), a withdrawn or anonymized one is no
        // longer processed at all (§8.4, §2.5): nothing is sent about it.
        if !record.is_processable() {
            return Ok(Fate::Obsolete);
        }
        match &item.kind {
            OutboxKind::NotifyOperator {
                channel: Channel::Email,
                ..
            } => match &self.mailer {
                Some(mailer) if !self.composer.settings.notify_to.is_empty() => {
                    mailer
                        .send(&self.composer.notification(&record, item))
                        .await?;
                    Ok(Fate::Delivered)
                }
                _ => Ok(Fate::Obsolete),
            },
            OutboxKind::NotifyOperator {
                channel: Channel::Webhook,
                ..
            } => match &self.webhook {
                Some(webhook) => {
                    webhook.post(&webhook_payload(&record).to_string()).await?;
                    Ok(Fate::Delivered)
                }
                None => Ok(Fate::Obsolete),
            },
            OutboxKind::ConfirmPurpose { purpose, .. } => {
                let Some(mail) = self.composer.confirmation(&record, purpose, item, now) else {
                    return Ok(Fate::Obsolete);
                };
                match &self.mailer {
                    Some(mailer) => {
                        mailer.send(&mail).await?;
                        Ok(Fate::Delivered)
                    }
                    // Kept, and retried: the operator may still configure mail before the
                    // grant lapses.
                    None => Err(SendError("no mail transport is configured".to_owned())),
                }
            }
            // Handled by `attempt_request` above: they name no record.
            OutboxKind::ConfirmRequest { .. } | OutboxKind::NotifyRequest { .. } => {
                Ok(Fate::Obsolete)
            }
        }
    }

    /// One attempt at an item about a data-subject request.
    async fn attempt_request(&self, item: &OutboxItem) -> Result<Fate, SendError> {
        let request = self
            .store
            .get_request(item.kind.subject())
            .await
            .map_err(|e| SendError(format!("store: {e}")))?;
        // Gone (never stored, or the post failed after queueing) or closed: nothing to say.
        let Some(request) = request.filter(|r| r.closed_at.is_none()) else {
            return Ok(Fate::Obsolete);
        };
        let mail = match &item.kind {
            OutboxKind::ConfirmRequest { .. } if request.confirmed_at.is_none() => {
                self.composer.request_confirmation(&request, item)
            }
            OutboxKind::NotifyRequest { .. } if !self.composer.settings.notify_to.is_empty() => {
                self.composer.request_notice(&request, item)
            }
            _ => return Ok(Fate::Obsolete),
        };
        match &self.mailer {
            Some(mailer) => {
                mailer.send(&mail).await?;
                Ok(Fate::Delivered)
            }
            None => Err(SendError("no mail transport is configured".to_owned())),
        }
    }
}

/// Runs delivery rounds in the background: at once when `kick` is notified (a record was
/// just stored), and every `interval` for retries. Ends when the runtime does.
pub fn spawn_background(
    deliverer: Deliverer,
    kick: Arc<tokio::sync::Notify>,
    interval: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = kick.notified() => {}
                () = tokio::time::sleep(interval) => {}
            }
            if let Err(error) = deliverer.run_once(OffsetDateTime::now_utc()).await {
                tracing::warn!(%error, "delivery round failed; the next round retries");
            }
        }
    })
}
