//! Sending e-mail with SES (v2).

pub use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::{
    error::DisplayErrorContext,
    types::{Body, Content, Destination, EmailContent, Message},
};

use crate::AwsError;

/// Sends a plain-text e-mail from `from` (a verified identity) to `to`; returns SES's message id.
pub async fn send_text(
    client: &Client,
    from: &str,
    to: &[String],
    subject: &str,
    text: &str,
) -> Result<String, AwsError> {
    let content = |data: &str| Content::builder().data(data).charset("UTF-8").build();
    let err = |message: String| AwsError::Ses { message };
    let message = Message::builder()
        .subject(content(subject).map_err(|e| err(e.to_string()))?)
        .body(Body::builder().text(content(text).map_err(|e| err(e.to_string()))?).build())
        .build();
    let out = client
        .send_email()
        .from_email_address(from)
        .destination(Destination::builder().set_to_addresses(Some(to.to_vec())).build())
        .content(EmailContent::builder().simple(message).build())
        .send()
        .await
        .map_err(|e| err(DisplayErrorContext(&e).to_string()))?;
    Ok(out.message_id().unwrap_or_default().to_owned())
}
