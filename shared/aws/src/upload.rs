//! Multipart upload of a file to S3, part by part, while the file is still being written.
//!
//! The writer (a blocking thread) writes through a [`GrowingFile`], which reports how far the
//! file has got; [`upload_growing`] sends each part as soon as the file holds all of it, and the
//! last one once the writer [finishes](GrowingFile::finish). Uploading then overlaps writing
//! instead of following it, with one part in memory at a time. This works because the file is
//! written front to back: an XLSX written by `rust_xlsxwriter` is a streamed zip (no seeking
//! back to patch headers). A writer that stops without finishing (an error, a panic) aborts the
//! upload: no object, and no parts left behind to pay for.

use std::{
    io::{self, Write},
    path::{Path, PathBuf},
};

use aws_sdk_s3::{
    error::DisplayErrorContext,
    primitives::ByteStream,
    types::{CompletedMultipartUpload, CompletedPart},
};
use tokio::{io::AsyncReadExt, sync::watch};

use crate::AwsError;

/// A good part size: the memory an upload holds.
pub const UPLOAD_PART_BYTES: usize = 8 * 1024 * 1024;

/// S3's smallest part (every part but the last).
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;

/// How far a file being written has got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Growth {
    bytes: u64,
    done: bool,
}

/// The writing side: a new file that reports its length as it grows. Put a `BufWriter` in front
/// of it (each write is reported), and call [`finish`](GrowingFile::finish) after the last byte.
#[derive(Debug)]
pub struct GrowingFile {
    file: std::fs::File,
    written: u64,
    tx: watch::Sender<Growth>,
}

/// The reading side of a [`GrowingFile`], for [`upload_growing`].
#[derive(Debug)]
pub struct Growing {
    path: PathBuf,
    rx: watch::Receiver<Growth>,
}

/// Creates (or truncates) the file at `path` for writing while it is uploaded.
pub fn growing_file(path: &Path) -> io::Result<(GrowingFile, Growing)> {
    let file = std::fs::File::create(path)?;
    let (tx, rx) = watch::channel(Growth::default());
    Ok((GrowingFile { file, written: 0, tx }, Growing { path: path.to_owned(), rx }))
}

impl Write for GrowingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        self.tx.send_replace(Growth { bytes: self.written, done: false });
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl GrowingFile {
    /// Marks the file complete after its last byte; returns its length.
    pub fn finish(mut self) -> io::Result<u64> {
        self.file.flush()?;
        self.tx.send_replace(Growth { bytes: self.written, done: true });
        Ok(self.written)
    }
}

/// Uploads the file of `growing` while it is written, as the module explains; returns its size
/// once the last part is in and the upload completed. Parts of `part_bytes` (at least
/// [`MIN_PART_BYTES`]).
pub async fn upload_growing(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    content_type: &str,
    part_bytes: usize,
    mut growing: Growing,
) -> Result<u64, AwsError> {
    let err = |message: String| AwsError::S3 { bucket: bucket.into(), key: key.into(), message };
    let part_bytes = part_bytes.max(MIN_PART_BYTES) as u64;
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
        let path = growing.path.display().to_string();
        // The file exists from `growing_file` on; it is read as far as it has been written.
        let mut file = tokio::fs::File::open(&growing.path).await.map_err(|e| err(format!("{path}: {e}")))?;
        let mut parts = Vec::new();
        let mut offset = 0u64;
        loop {
            // A whole part written, or the end of the finished file.
            let growth = loop {
                let g = *growing.rx.borrow_and_update();
                if g.done || g.bytes >= offset + part_bytes {
                    break g;
                }
                if growing.rx.changed().await.is_err() {
                    return Err(err(format!("{path}: the writer stopped before finishing the file")));
                }
            };
            let len = (growth.bytes - offset).min(part_bytes);
            if len == 0 && !parts.is_empty() {
                break;
            }
            let mut buf = Vec::with_capacity(len as usize);
            (&mut file).take(len).read_to_end(&mut buf).await.map_err(|e| err(format!("{path}: {e}")))?;
            if buf.len() as u64 != len {
                return Err(err(format!("{path}: {} bytes where {len} were written", buf.len())));
            }
            let number = parts.len() as i32 + 1;
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
            offset += len;
            if growth.done && offset == growth.bytes {
                break;
            }
        }
        Ok::<_, AwsError>((parts, offset))
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
