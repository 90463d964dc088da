//! The email transport: SMTP through lettre when `SMTP_URL` is set,
//! otherwise `.eml` files under `<data_dir>/mail` (lettre's file transport).
//! What is sent is decided in [`crate::domain::emails`].

use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Settings;

/// How emails leave this process. Cheap to clone.
#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
}

impl Mailer {
    /// SMTP from `SMTP_URL` (e.g. `smtp://127.0.0.1:1025`, `smtps://user:pw@host`),
    /// else files in [`Settings::mail_dir`] (created if missing).
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        match &settings.mail.smtp_url {
            Some(url) => Ok(Mailer::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.build(),
            )),
            None => {
                let dir = settings.mail_dir();
                std::fs::create_dir_all(&dir)?;
                Ok(Mailer::File(AsyncFileTransport::<Tokio1Executor>::new(dir)))
            }
        }
    }

    /// Sends one message.
    pub async fn send(&self, message: Message) -> anyhow::Result<()> {
        match self {
            Mailer::Smtp(transport) => {
                transport.send(message).await?;
            }
            Mailer::File(transport) => {
                transport.send(message).await?;
            }
        }
        Ok(())
    }
}
