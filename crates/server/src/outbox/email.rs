//! Email pages over SMTP (lettre, rustls).

use super::{SendError, headline};
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use staunch_config::{SmtpSettings, SmtpTls};
use staunch_store::Delivery;
use std::time::Duration;

pub(crate) struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl Mailer {
    pub fn new(settings: &SmtpSettings, timeout: Duration) -> anyhow::Result<Mailer> {
        let builder = match settings.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host)?,
        };
        let mut builder = builder.port(settings.port).timeout(Some(timeout));
        if let (Some(username), Some(password)) = (&settings.username, &settings.password) {
            builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
        }
        let from = settings.from.parse().map_err(|error| anyhow::anyhow!("smtp.from: {error}"))?;
        Ok(Mailer { transport: builder.build(), from })
    }

    pub async fn send(&self, address: &str, delivery: &Delivery) -> Result<(), SendError> {
        let to = address.parse().map_err(|error| SendError::permanent(format!("bad address {address:?}: {error}")))?;
        let subject = format!("[Staunch] {}", headline(&delivery.payload));
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(message_id(&delivery.idempotency_key)))
            .header(ContentType::TEXT_PLAIN)
            .body(body(delivery))
            .map_err(|error| SendError::permanent(format!("cannot build message: {error}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_permanent() => Err(SendError::permanent(format!("smtp: {error}"))),
            Err(error) => Err(SendError::transient(format!("smtp: {error}"))),
        }
    }
}

/// The same page sent again (its sender died, or timed out after the server accepted it) keeps
/// its `Message-ID`, so mail servers and clients can drop the copy.
fn message_id(idempotency_key: &str) -> String {
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(idempotency_key.as_bytes()));
    format!("<{}@page.staunch>", &digest[..32])
}

fn body(delivery: &Delivery) -> String {
    let payload = &delivery.payload;
    let incident = &payload["incident"];
    format!(
        "{}\n\nIncident #{id}\nService: {service}\nSeverity: {severity}\nState: {state}\nEscalation level: {level}\nOpened: {created}\n\n\
         Acknowledge: staunch ack {id}\nResolve: staunch resolve {id}\n\nIdempotency key: {key}\n",
        headline(payload),
        id = incident["id"],
        service = incident["service"].as_str().unwrap_or(""),
        severity = incident["severity"].as_str().unwrap_or(""),
        state = incident["state"].as_str().unwrap_or(""),
        level = payload["escalation"]["level"],
        created = incident["created_at"].as_str().unwrap_or(""),
        key = delivery.idempotency_key,
    )
}
