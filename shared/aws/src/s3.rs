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

/// A good part size for [`upload_file`]: the memory an upload holds.
pub const UPLOAD_PART_BYTES: usize = 8 * 1024 * 1024;

/// S3's smallest part (every part but the last).
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;

/// Uploads a file by multipart upload in parts of `part_bytes` (at least [`MIN_PART_BYTES`]),
/// one part in memory at a time; returns its size. An upload that fails is aborted (no parts
/// left behind to pay for).
pub async fn upload_file(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    path: &std::path::Path,
    content_type: &str,
    part_bytes: usize,
) -> Result<u64, AwsError> {
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
    use tokio::io::AsyncReadExt;

    let err = |message: String| AwsError::S3 { bucket: bucket.into(), key: key.into(), message };
    let part_bytes = part_bytes.max(MIN_PART_BYTES);
    let created = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .send()
        .await
        .map_err(|e| err(DisplayErrorContext(&e).to_string()))?;
    let upload_id = created.upload_id().ok_or_else(|| err("S3 gave no upload id".into()))?.to_owned();
    let parts = async {
        let mut file = tokio::fs::File::open(path).await.map_err(|e| err(format!("{}: {e}", path.display())))?;
        let mut parts = Vec::new();
        let mut total = 0u64;
        loop {
            let mut buf = Vec::with_capacity(part_bytes);
            while buf.len() < part_bytes {
                let n = (&mut file)
                    .take((part_bytes - buf.len()) as u64)
                    .read_to_end(&mut buf)
                    .await
                    .map_err(|e| err(format!("{}: {e}", path.display())))?;
                if n == 0 {
                    break;
                }
            }
            if buf.is_empty() && !parts.is_empty() {
                break;
            }
            let number = parts.len() as i32 + 1;
            let last = buf.len() < part_bytes;
            total += buf.len() as u64;
            let part = s3
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .part_number(number)
                .body(ByteStream::from(buf))
                .send()
                .await
                .map_err(|e| err(DisplayErrorContext(&e).to_string()))?;
            parts.push(CompletedPart::builder().part_number(number).set_e_tag(part.e_tag().map(str::to_owned)).build());
            if last {
                break;
            }
        }
        Ok::<_, AwsError>((parts, total))
    }
    .await;
    let result = match parts {
        Ok((parts, total)) => s3
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map(|_| total)
            .map_err(|e| err(DisplayErrorContext(&e).to_string())),
        Err(e) => Err(e),
    };
    if result.is_err() {
        let _ = s3.abort_multipart_upload().bucket(bucket).key(key).upload_id(&upload_id).send().await;
    }
    result
}
