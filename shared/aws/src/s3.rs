//! S3 client construction (path-style addressing for emulators) and small helpers.

pub use aws_sdk_s3::{Client, config::Credentials};
use aws_sdk_s3::{error::DisplayErrorContext, primitives::ByteStream};

use crate::{AwsError, SdkConfig};

/// An S3 client; `force_path_style` for emulators reached by host name (`S3_FORCE_PATH_STYLE`).
pub fn client(sdk: &SdkConfig, force_path_style: bool) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(sdk).force_path_style(force_path_style).build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Puts one object.
pub async fn put(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    content_type: &str,
) -> Result<(), AwsError> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| AwsError::S3 {
            bucket: bucket.into(),
            key: key.into(),
            message: DisplayErrorContext(&e).to_string(),
        })?;
    Ok(())
}

/// Gets one object's bytes.
pub async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Vec<u8>, AwsError> {
    let err = |message: String| AwsError::S3 { bucket: bucket.into(), key: key.into(), message };
    let out =
        s3.get_object().bucket(bucket).key(key).send().await.map_err(|e| err(DisplayErrorContext(&e).to_string()))?;
    let bytes = out.body.collect().await.map_err(|e| err(e.to_string()))?;
    Ok(bytes.into_bytes().to_vec())
}

/// A presigned GET URL for one object, valid for `valid_for` (S3 allows at most 7 days).
pub async fn presigned_get(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    valid_for: std::time::Duration,
) -> Result<String, AwsError> {
    let err = |message: String| AwsError::S3 { bucket: bucket.into(), key: key.into(), message };
    let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(valid_for).map_err(|e| err(e.to_string()))?;
    let req = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .presigned(config)
        .await
        .map_err(|e| err(DisplayErrorContext(&e).to_string()))?;
    Ok(req.uri().to_owned())
}

/// The newest object under `prefix` (by last modification): its key, or `None` when there is none.
pub async fn newest(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<Option<String>, AwsError> {
    let err = |message: String| AwsError::S3 { bucket: bucket.into(), key: prefix.into(), message };
    let mut pages = s3.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
    let mut newest: Option<(aws_sdk_s3::primitives::DateTime, String)> = None;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| err(DisplayErrorContext(&e).to_string()))?;
        for object in page.contents() {
            if let (Some(at), Some(key)) = (object.last_modified(), object.key())
                && newest.as_ref().is_none_or(|(t, k)| (at, key) > (t, k.as_str()))
            {
                newest = Some((*at, key.to_owned()));
            }
        }
    }
    Ok(newest.map(|(_, k)| k))
}
