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
use crate::domain::receipt_key::ReceiptSigner;
use crate::domain::record::RecordState;
use crate::store::{Store, StoreError};

/// Where an item stands after one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Accepted by the mail server or the webhook: remove it.
    Delivered,
    /// Nothing left to send (the record was erased, the grant was confirmed or lapsed, the
    /// channel is no longer configured, a request's link expired): remove it.
    Obsolete,
    /// About a blocked record: held back until it is unblocked.
    Withheld,
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    /// Failed this time; scheduled again.
    pub retried: usize,
    /// Dropped because nothing was left to send.
    pub dropped: usize,
    /// Ended for good (a permanent refusal, or its attempts or days used up): dead letters.
    pub dead: usize,
    /// Held back while their record is blocked.
    pub withheld: usize,
    /// Dead letters in the outbox after the round, old and new: each waits for the operator
    /// (`deliver --status`, `deliver --retry ID`).
    pub dead_letters: usize,
}

impl DeliveryReport {
    /// What the operator should look at: items failing now and dead letters. The AWS
    /// template's outbox-backlog alarm watches this number.
    pub fn backlog(&self) -> usize {
        self.retried + self.dead_letters
    }
}

impl std::fmt::Display for DeliveryReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} delivered, {} to retry, {} dropped (nothing left to send), {} new dead letters \
             ({} in the outbox), {} withheld (record blocked)",
            self.delivered, self.retried, self.dropped, self.dead, self.dead_letters, self.withheld
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
                receipts: None,
            },
            mailer: None,
            webhook: None,
        }
    }

    pub fn with_mailer(mut self, mailer: Arc<dyn MailTransport>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Attaches the signed consent receipt to each confirmation mail.
    pub fn with_receipts(mut self, signer: Option<ReceiptSigner>) -> Self {
        self.composer.receipts = signer.map(Arc::new);
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

    /// Delivers every item due at `now`. Each claim's lease runs from that claim's own moment
    /// (`now` plus the time the round has taken so far), not from `now`, so an item claimed
    /// late in a long round is still leased while its attempt runs. Store errors end the
    /// round (the next one retries); send errors reschedule their item, or end it when the
    /// refusal is permanent or its life is used up.
    pub async fn run_once(&self, now: OffsetDateTime) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        // A removal a busy reader held off is finished here too.
        if let Err(error) = self.store.finish_removals().await {
            tracing::warn!(%error, "a pending scrub could not be finished");
        }
        let started = std::time::Instant::now();
        let clock = || now + started.elapsed();
        for due in self.store.list_due_items(now, ROUND_LIMIT).await? {
            let claimed_at = clock();
            let lease = self.composer.settings.lease;
            let Some(item) = self.store.claim_item(due.id, claimed_at, lease).await? else {
                continue;
            };
            match self.attempt(&item, claimed_at).await {
                Ok(fate) => self.settle(&item, fate, &mut report).await?,
                Err(error) => self.failed(&item, &error, clock(), &mut report).await?,
            }
        }
        // The outbox is small (sent items leave it), so counting is one short read.
        report.dead_letters = self
            .store
            .list_items()
            .await?
            .iter()
            .filter(|item| item.dead.is_some())
            .count();
        Ok(report)
    }

    /// Removes or holds back an item whose attempt ended without an error.
    async fn settle(
        &self,
        item: &OutboxItem,
        fate: Fate,
        report: &mut DeliveryReport,
    ) -> Result<(), StoreError> {
        match fate {
            Fate::Delivered => report.delivered += 1,
            Fate::Obsolete => report.dropped += 1,
            Fate::Withheld => report.withheld += 1,
        }
        if fate == Fate::Withheld {
            self.store.withhold_item(item.id).await?;
        } else {
            self.store.remove_item(item.id).await?;
        }
        tracing::info!(item = %item.id, kind = %item.kind.label(), ?fate, "outbox item done");
        Ok(())
    }

    /// Reschedules a failed item, or makes it a dead letter when the refusal was permanent or
    /// it has used up its life ([`OutboxItem::is_spent`]).
    async fn failed(
        &self,
        item: &OutboxItem,
        error: &SendError,
        now: OffsetDateTime,
        report: &mut DeliveryReport,
    ) -> Result<(), StoreError> {
        let (kind, attempts) = (item.kind.label(), item.attempts);
        if error.permanent || item.is_spent(now) {
            let reason = if error.permanent {
                error.reason.clone()
            } else {
                format!("gave up after {attempts} attempts: {}", error.reason)
            };
            tracing::warn!(item = %item.id, %kind, attempts, %error, "delivery ended: dead letter");
            self.store.bury_item(item.id, &reason, now).await?;
            report.dead += 1;
        } else {
            tracing::warn!(item = %item.id, %kind, attempts, %error, "delivery failed; will retry");
            let next = now + backoff(item.attempts);
            self.store
                .reschedule_item(item.id, next, &error.reason)
                .await?;
            report.retried += 1;
        }
        Ok(())
    }

    /// One attempt at one item.
    async fn attempt(&self, item: &OutboxItem, now: OffsetDateTime) -> Result<Fate, SendError> {
        let Some(record_id) = item.kind.record_id() else {
            return self.attempt_request(item, now).await;
        };
        let record = self
            .store
            .get_record(record_id)
            .await
            .map_err(|e| SendError::retry(format!("store: {e}")))?;
        let Some(record) = record else {
            return Ok(Fate::Obsolete);
        };
        // A blocked record is in no notification (§2.2) until it is unblocked; a withdrawn
        // or anonymized one is no longer processed at all (§8.4, §2.5): nothing is sent.
        if record.blocked_at.is_some() && record.state == RecordState::Active {
            return Ok(Fate::Withheld);
        }
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
                    None => Err(SendError::retry("no mail transport is configured")),
                }
            }
            // Handled by `attempt_request` above: they name no record.
            OutboxKind::ConfirmRequest { .. } | OutboxKind::NotifyRequest { .. } => {
                Ok(Fate::Obsolete)
            }
        }
    }

    /// One attempt at an item about a data-subject request.
    async fn attempt_request(
        &self,
        item: &OutboxItem,
        now: OffsetDateTime,
    ) -> Result<Fate, SendError> {
        let request = self
            .store
            .get_request(item.kind.subject())
            .await
            .map_err(|e| SendError::retry(format!("store: {e}")))?;
        // Gone (never stored, or the post failed after queueing) or closed: nothing to say.
        let Some(request) = request.filter(|r| r.closed_at.is_none()) else {
            return Ok(Fate::Obsolete);
        };
        let mail = match &item.kind {
            // A link that has expired is not mailed: the person can ask again.
            OutboxKind::ConfirmRequest { .. } if request.awaits_confirmation(now) => {
                self.composer.request_confirmation(&request, item)
            }
            OutboxKind::ConfirmRequest { .. }
                if request.link_expires_at.is_none() && request.confirmed_at.is_none() =>
            {
                // Requests queued before links had their own expiry.
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
            None => Err(SendError::retry("no mail transport is configured")),
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
