//! `platform_aws::upload` against moto: a file uploaded while it is written, each part as soon as
//! the file holds it; a writer that stops without finishing leaves no object and no parts.

use std::{io::Write, time::Duration};

use integration_tests::aws;
use platform_aws::upload::{MIN_PART_BYTES, growing_file, upload_growing};

async fn bucket() -> (aws_sdk_s3::Client, String) {
    let sdk = aws().await;
    let s3 = platform_aws::s3::client(&sdk, true);
    let bucket = format!("upload-{}", uuid::Uuid::new_v4().simple());
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    (s3, bucket)
}

/// A new directory for this test's files.
fn scratch() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("upload-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Parts S3 holds for the one multipart upload under way in `bucket` (0 when none is). Asked of
/// moto by plain HTTP: its ListParts answer has a root element the SDK refuses.
async fn parts_so_far(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> usize {
    let uploads = s3.list_multipart_uploads().bucket(bucket).send().await.unwrap();
    let Some(id) = uploads.uploads().first().and_then(|u| u.upload_id()) else { return 0 };
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL (moto)");
    let answer = reqwest::Client::new()
        .get(format!("{endpoint}/{bucket}/{key}"))
        .query(&[("uploadId", id)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    answer.matches("<PartNumber>").count()
}

/// The parts an object was uploaded in: a multipart object's ETag ends in `-<parts>`.
async fn parts_of(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> usize {
    let head = s3.head_object().bucket(bucket).key(key).send().await.unwrap();
    let etag = head.e_tag().unwrap_or_default().trim_matches('"').to_owned();
    etag.rsplit_once('-').and_then(|(_, n)| n.parse().ok()).unwrap_or_else(|| panic!("not a multipart ETag: {etag}"))
}

#[tokio::test]
async fn parts_go_up_while_the_file_is_still_being_written() {
    let (s3, bucket) = bucket().await;
    let dir = scratch();
    let (mut file, growing) = growing_file(&dir.join("report.xlsx")).unwrap();
    let content: Vec<u8> = (0..2 * MIN_PART_BYTES + 12_345).map(|i| (i % 251) as u8).collect();
    let upload = tokio::spawn({
        let (s3, bucket) = (s3.clone(), bucket.clone());
        async move { upload_growing(&s3, &bucket, "report.xlsx", "application/zip", MIN_PART_BYTES, growing).await }
    });
    // The first part and a bit, then wait (without writing more) until S3 holds that part: an
    // upload that waited for the end of the file would never get there.
    file.write_all(&content[..MIN_PART_BYTES + 10]).unwrap();
    let waited = tokio::time::timeout(Duration::from_secs(60), async {
        while parts_so_far(&s3, &bucket, "report.xlsx").await == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "the first part was not uploaded while the file was unfinished");
    assert!(!upload.is_finished(), "the upload waits for the rest");
    file.write_all(&content[MIN_PART_BYTES + 10..]).unwrap();
    assert_eq!(file.finish().unwrap(), content.len() as u64);
    assert_eq!(upload.await.unwrap().unwrap(), content.len() as u64);
    let stored = platform_aws::s3::get(&s3, &bucket, "report.xlsx").await.unwrap();
    assert!(stored == content, "the object is the file, byte for byte ({} bytes stored)", stored.len());
    assert_eq!(parts_of(&s3, &bucket, "report.xlsx").await, 3, "two whole parts and the rest");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_small_or_empty_file_is_one_part() {
    let (s3, bucket) = bucket().await;
    let dir = scratch();
    for (key, content) in [("small", b"PK small".to_vec()), ("empty", Vec::new())] {
        let (mut file, growing) = growing_file(&dir.join(key)).unwrap();
        let upload = upload_growing(&s3, &bucket, key, "application/zip", MIN_PART_BYTES, growing);
        let write = async move {
            file.write_all(&content).unwrap();
            file.finish().unwrap();
            content
        };
        let (uploaded, content) = tokio::join!(upload, write);
        assert_eq!(uploaded.unwrap(), content.len() as u64, "{key}");
        assert_eq!(platform_aws::s3::get(&s3, &bucket, key).await.unwrap(), content, "{key}");
        assert_eq!(parts_of(&s3, &bucket, key).await, 1, "{key}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_writer_that_stops_without_finishing_leaves_no_object_and_no_parts() {
    let (s3, bucket) = bucket().await;
    let dir = scratch();
    let (mut file, growing) = growing_file(&dir.join("broken.xlsx")).unwrap();
    let upload = tokio::spawn({
        let (s3, bucket) = (s3.clone(), bucket.clone());
        async move { upload_growing(&s3, &bucket, "broken.xlsx", "application/zip", MIN_PART_BYTES, growing).await }
    });
    file.write_all(&vec![7u8; MIN_PART_BYTES + 1]).unwrap();
    tokio::time::timeout(Duration::from_secs(60), async {
        while parts_so_far(&s3, &bucket, "broken.xlsx").await == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the first part goes up");
    drop(file); // as a failed or panicking writer does
    let err = upload.await.unwrap().unwrap_err().to_string();
    assert!(err.contains("stopped before finishing"), "{err}");
    let uploads = s3.list_multipart_uploads().bucket(&bucket).send().await.unwrap();
    assert!(uploads.uploads().is_empty(), "the upload was aborted: {:?}", uploads.uploads());
    assert!(platform_aws::s3::get(&s3, &bucket, "broken.xlsx").await.is_err(), "no object");
    std::fs::remove_dir_all(dir).unwrap();
}
