//! Push delivery (seed 004 §10): Web Push for real (RFC 8030 with VAPID
//! and aes128gcm payload encryption, through the `web-push` crate, sent
//! with reqwest), when `WEB_PUSH_VAPID_KEY_FILE` names a P-256 private key
//! in PEM. FCM and APNs, and Web Push without a key, are providers that
//! log what they would send until their credentials are configured (no
//! registry here provides those services).

use std::sync::Arc;

use web_push::{ContentEncoding, SubscriptionInfo, VapidSignatureBuilder, WebPushMessageBuilder};

use crate::config::Settings;

/// How pushes leave. Cheap to clone.
#[derive(Clone)]
pub struct Pusher {
    /// The VAPID private key (PEM) and the `sub` claim, when configured.
    vapid: Option<Arc<(Vec<u8>, String)>>,
    http: reqwest::Client,
}

/// What became of one push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// The push service accepted it.
    Sent,
    /// No provider is configured for the platform: logged instead.
    Logged,
}

/// The Web Push subscription in a `web` device's token (the browser's
/// `PushSubscription.toJSON()`), if it is one.
pub fn web_subscription(token: &str) -> Option<SubscriptionInfo> {
    let info: SubscriptionInfo = serde_json::from_str(token).ok()?;
    let endpoint = info.endpoint.as_str();
    let endpoint_ok = endpoint.starts_with("https://") || endpoint.starts_with("http://127.0.0.1");
    (endpoint_ok && !info.keys.p256dh.is_empty() && !info.keys.auth.is_empty()).then_some(info)
}

impl Pusher {
    /// The pusher `settings` configure.
    ///
    /// Errors: `WEB_PUSH_VAPID_KEY_FILE` is set but cannot be read.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Pusher> {
        let vapid = match &settings.push.vapid_key_file {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| {
                    anyhow::anyhow!("WEB_PUSH_VAPID_KEY_FILE {}: {e}", path.display())
                })?;
                Some(Arc::new((pem, settings.push.subject.clone())))
            }
            None => None,
        };
        Ok(Pusher {
            vapid,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()?,
        })
    }

    /// Sends `payload` to one device (`platform` `web`, `fcm` or `apns`
    /// with its token).
    ///
    /// Errors: the subscription is unusable, encryption failed, or the push
    /// service refused (its status in the message).
    pub async fn send(
        &self,
        platform: &str,
        token: &str,
        payload: &serde_json::Value,
    ) -> anyhow::Result<PushOutcome> {
        match (platform, &self.vapid) {
            ("web", Some(vapid)) => self.web_push(vapid, token, payload).await,
            _ => {
                tracing::info!(
                    platform,
                    payload = %payload,
                    "push not configured for this platform; it would have sent this"
                );
                Ok(PushOutcome::Logged)
            }
        }
    }

    async fn web_push(
        &self,
        vapid: &(Vec<u8>, String),
        token: &str,
        payload: &serde_json::Value,
    ) -> anyhow::Result<PushOutcome> {
        let subscription = web_subscription(token)
            .ok_or_else(|| anyhow::anyhow!("not a Web Push subscription"))?;
        let (pem, subject) = vapid;
        let mut signature = VapidSignatureBuilder::from_pem(pem.as_slice(), &subscription)?;
        signature.add_claim("sub", subject.as_str());
        let body = serde_json::to_vec(payload)?;
        let mut builder = WebPushMessageBuilder::new(&subscription);
        builder.set_payload(ContentEncoding::Aes128Gcm, &body);
        builder.set_vapid_signature(signature.build()?);
        builder.set_ttl(24 * 3600);
        let request = web_push::request_builder::build_request::<Vec<u8>>(builder.build()?);
        let (parts, body) = request.into_parts();
        let mut outgoing = self.http.post(parts.uri.to_string()).body(body);
        for (name, value) in &parts.headers {
            outgoing = outgoing.header(name.as_str(), value.as_bytes());
        }
        let response = outgoing.send().await?;
        let status = response.status();
        anyhow::ensure!(status.is_success(), "push service answered {status}");
        Ok(PushOutcome::Sent)
    }
}
