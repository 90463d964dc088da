//! Object storage for attachments (ARCHITECTURE §5): S3 through
//! aws-sdk-s3 with presigned PUT / GET when `S3_ENDPOINT` is set, else the
//! embedded default: files under `<data_dir>/media` behind URLs of the API
//! itself, signed with HMAC-SHA256, with the same contract (a URL works
//! until it expires, for one object, one method and — for uploads — one
//! content type and size; a changed byte is refused).

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::presigning::PresigningConfig;
use hmac::{Hmac, Mac};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::ExposeSecret;
use sha2::Sha256;

use crate::config::Settings;

/// Where uploads go and how they are reached.
#[derive(Clone)]
pub enum ObjectStore {
    S3(S3Store),
    Local(LocalStore),
}

/// A presigned upload: `PUT` the file to `url` with `headers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedPut {
    pub url: String,
    pub headers: Vec<(String, String)>,
}

/// What the store holds under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub size: i64,
    pub content_type: Option<String>,
}

impl ObjectStore {
    /// The store `settings` name: S3 when `S3_ENDPOINT` is set, else local
    /// disk.
    pub fn from_settings(settings: &Settings) -> ObjectStore {
        let media = &settings.media;
        match &media.s3_endpoint {
            Some(endpoint) => {
                let credentials = Credentials::new(
                    media.s3_access_key.clone(),
                    media.s3_secret_key.expose_secret().to_owned(),
                    None,
                    None,
                    "parley",
                );
                let config = aws_sdk_s3::Config::builder()
                    .behavior_version(BehaviorVersion::latest())
                    .region(Region::new(media.s3_region.clone()))
                    .endpoint_url(endpoint.trim_end_matches('/'))
                    .credentials_provider(credentials)
                    .force_path_style(true)
                    .build();
                ObjectStore::S3(S3Store {
                    client: aws_sdk_s3::Client::from_conf(config),
                    endpoint: endpoint.trim_end_matches('/').to_owned(),
                    bucket: media.s3_bucket.clone(),
                })
            }
            None => ObjectStore::Local(LocalStore {
                root: settings.data_dir.join("media"),
                base_url: format!(
                    "{}/api/v1/media/files",
                    settings.http.public_url.trim_end_matches('/')
                ),
                key: local_signing_key(settings),
            }),
        }
    }

    /// The stable URL of `key` (not signed): what attachments store and
    /// what `file_url` names.
    pub fn file_url(&self, key: &str) -> String {
        match self {
            ObjectStore::S3(s3) => format!("{}/{}/{key}", s3.endpoint, s3.bucket),
            ObjectStore::Local(local) => format!("{}/{key}", local.base_url),
        }
    }

    /// The key a `file_url` of this store names; `None` for any other URL.
    pub fn key_of(&self, file_url: &str) -> Option<String> {
        let prefix = match self {
            ObjectStore::S3(s3) => format!("{}/{}/", s3.endpoint, s3.bucket),
            ObjectStore::Local(local) => format!("{}/", local.base_url),
        };
        let key = file_url.strip_prefix(&prefix)?;
        valid_key(key).then(|| key.to_owned())
    }

    /// A URL that uploads exactly `size` bytes of `content_type` to `key`
    /// for `ttl`.
    ///
    /// Errors: S3 could not presign (bad configuration).
    pub async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: i64,
        ttl: Duration,
    ) -> anyhow::Result<PresignedPut> {
        match self {
            ObjectStore::S3(s3) => {
                let presigned = s3
                    .client
                    .put_object()
                    .bucket(&s3.bucket)
                    .key(key)
                    .content_type(content_type)
                    .content_length(size)
                    .presigned(PresigningConfig::expires_in(ttl)?)
                    .await?;
                Ok(PresignedPut {
                    url: presigned.uri().to_owned(),
                    headers: vec![("Content-Type".to_owned(), content_type.to_owned())],
                })
            }
            ObjectStore::Local(local) => Ok(PresignedPut {
                url: local.signed_url("PUT", key, Some((content_type, size)), ttl),
                headers: vec![("Content-Type".to_owned(), content_type.to_owned())],
            }),
        }
    }

    /// A URL that downloads `key` for `ttl`.
    ///
    /// Errors: S3 could not presign (bad configuration).
    pub async fn presign_get(&self, key: &str, ttl: Duration) -> anyhow::Result<String> {
        match self {
            ObjectStore::S3(s3) => Ok(s3
                .client
                .get_object()
                .bucket(&s3.bucket)
                .key(key)
                .presigned(PresigningConfig::expires_in(ttl)?)
                .await?
                .uri()
                .to_owned()),
            ObjectStore::Local(local) => Ok(local.signed_url("GET", key, None, ttl)),
        }
    }

    /// What is stored under `key`, if anything.
    ///
    /// Errors: the store could not be asked (S3 unreachable, disk error).
    pub async fn head(&self, key: &str) -> anyhow::Result<Option<StoredObject>> {
        match self {
            ObjectStore::S3(s3) => {
                match s3
                    .client
                    .head_object()
                    .bucket(&s3.bucket)
                    .key(key)
                    .send()
                    .await
                {
                    Ok(head) => Ok(Some(StoredObject {
                        size: head.content_length().unwrap_or(0),
                        content_type: head.content_type().map(str::to_owned),
                    })),
                    Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => {
                        Ok(None)
                    }
                    Err(err) => Err(anyhow::Error::new(err).context("S3 HeadObject")),
                }
            }
            ObjectStore::Local(local) => local.head(key).await,
        }
    }

    /// Stores `bytes` under `key` with its content type: the server's own
    /// write, for files it received in a request body (as against the
    /// client's `PUT` to a [`ObjectStore::presign_put`] URL).
    ///
    /// Errors: the store refused.
    pub async fn put(
        &self,
        key: &str,
        content_type: &str,
        bytes: bytes::Bytes,
    ) -> anyhow::Result<()> {
        match self {
            ObjectStore::S3(s3) => {
                s3.client
                    .put_object()
                    .bucket(&s3.bucket)
                    .key(key)
                    .content_type(content_type)
                    .body(aws_sdk_s3::primitives::ByteStream::from(bytes))
                    .send()
                    .await?;
                Ok(())
            }
            ObjectStore::Local(local) => local.put(key, content_type, &bytes).await,
        }
    }

    /// Removes `key` (nothing there is not an error).
    ///
    /// Errors: the store could not be asked.
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self {
            ObjectStore::S3(s3) => {
                s3.client
                    .delete_object()
                    .bucket(&s3.bucket)
                    .key(key)
                    .send()
                    .await?;
                Ok(())
            }
            ObjectStore::Local(local) => {
                for path in [local.path(key), local.meta_path(key)] {
                    match tokio::fs::remove_file(path).await {
                        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                            return Err(err.into());
                        }
                        _ => {}
                    }
                }
                Ok(())
            }
        }
    }
}

/// A key Parley makes: `uploads/<user>/<uuid>.<ext>`, nothing that could
/// leave the store's directory.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 200
        && !key.contains("..")
        && !key.starts_with('/')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'))
}

/// An S3 bucket.
#[derive(Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    endpoint: String,
    bucket: String,
}

impl S3Store {
    /// Creates the bucket when it does not exist (a fresh local server).
    ///
    /// Errors: S3 refused.
    pub async fn ensure_bucket(&self) -> anyhow::Result<()> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        self.client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| anyhow::Error::new(e).context("S3 CreateBucket"))?;
        Ok(())
    }
}

type HmacSha256 = Hmac<Sha256>;

/// An HMAC-SHA256 keyed with `key`.
fn mac(key: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

/// Files under a directory, reached through the API's `/media/files/`.
#[derive(Clone)]
pub struct LocalStore {
    root: PathBuf,
    base_url: String,
    key: Vec<u8>,
}

/// What a local signature covers: the method, the key, the expiry and, for
/// an upload, the content type and size.
fn signed_text(method: &str, key: &str, expires: i64, upload: Option<(&str, i64)>) -> String {
    match upload {
        Some((content_type, size)) => format!("{method}\n{key}\n{expires}\n{content_type}\n{size}"),
        None => format!("{method}\n{key}\n{expires}"),
    }
}

/// The HMAC key of local URLs, derived from the JWT secret (one secret to
/// configure), under its own label so the two never sign the same thing.
fn local_signing_key(settings: &Settings) -> Vec<u8> {
    let mut derive = mac(settings.auth.jwt_secret.expose_secret().as_bytes());
    derive.update(b"parley media urls v1");
    derive.finalize().into_bytes().to_vec()
}

/// A request to a local media URL, as the API received it.
#[derive(Debug, Clone)]
pub struct LocalRequest<'a> {
    pub method: &'a str,
    pub key: &'a str,
    pub expires: i64,
    pub signature: &'a str,
    /// For an upload: the content type and size it was signed for.
    pub upload: Option<(&'a str, i64)>,
}

/// Why a local media URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlRefusal {
    Expired,
    BadSignature,
}

impl LocalStore {
    fn signature(&self, text: &str) -> String {
        let mut signer = mac(&self.key);
        signer.update(text.as_bytes());
        hex::encode(signer.finalize().into_bytes())
    }

    fn signed_url(
        &self,
        method: &str,
        key: &str,
        upload: Option<(&str, i64)>,
        ttl: Duration,
    ) -> String {
        let expires = chrono::Utc::now().timestamp() + ttl.as_secs() as i64;
        let sig = self.signature(&signed_text(method, key, expires, upload));
        match upload {
            Some((content_type, size)) => format!(
                "{}/{key}?expires={expires}&size={size}&type={}&sig={sig}",
                self.base_url,
                utf8_percent_encode(content_type, NON_ALPHANUMERIC)
            ),
            None => format!("{}/{key}?expires={expires}&sig={sig}", self.base_url),
        }
    }

    /// Checks a request's signature and expiry (in constant time).
    pub fn verify(&self, request: &LocalRequest<'_>) -> Result<(), UrlRefusal> {
        let text = signed_text(request.method, request.key, request.expires, request.upload);
        let mut signer = mac(&self.key);
        signer.update(text.as_bytes());
        let given = hex::decode(request.signature).map_err(|_| UrlRefusal::BadSignature)?;
        signer
            .verify_slice(&given)
            .map_err(|_| UrlRefusal::BadSignature)?;
        if request.expires < chrono::Utc::now().timestamp() {
            return Err(UrlRefusal::Expired);
        }
        Ok(())
    }

    /// The file of `key`.
    pub fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    fn meta_path(&self, key: &str) -> PathBuf {
        self.root.join(format!("{key}.meta"))
    }

    /// Stores `bytes` under `key` with its content type, replacing what was
    /// there (as a PUT to S3 does), atomically.
    ///
    /// Errors: the disk refused.
    pub async fn put(&self, key: &str, content_type: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let path = self.path(key);
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        write_atomically(&self.meta_path(key), content_type.as_bytes()).await?;
        write_atomically(&path, bytes).await?;
        Ok(())
    }

    /// The content type `key` was stored with.
    pub async fn content_type(&self, key: &str) -> Option<String> {
        tokio::fs::read_to_string(self.meta_path(key)).await.ok()
    }

    async fn head(&self, key: &str) -> anyhow::Result<Option<StoredObject>> {
        match tokio::fs::metadata(self.path(key)).await {
            Ok(meta) => Ok(Some(StoredObject {
                size: meta.len() as i64,
                content_type: tokio::fs::read_to_string(self.meta_path(key)).await.ok(),
            })),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err.into()),
        }
    }
}

async fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, path).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> LocalStore {
        LocalStore {
            root: PathBuf::from("/nonexistent"),
            base_url: "http://x/api/v1/media/files".into(),
            key: b"k".to_vec(),
        }
    }

    #[test]
    fn local_urls_verify_and_refuse_tampering_and_expiry() {
        let store = store();
        let sig = store.signature(&signed_text(
            "PUT",
            "uploads/1/a.jpg",
            2_000_000_000,
            Some(("image/jpeg", 10)),
        ));
        let ok = LocalRequest {
            method: "PUT",
            key: "uploads/1/a.jpg",
            expires: 2_000_000_000,
            signature: &sig,
            upload: Some(("image/jpeg", 10)),
        };
        assert_eq!(store.verify(&ok), Ok(()));
        for bad in [
            LocalRequest {
                upload: Some(("image/jpeg", 11)),
                ..ok.clone()
            },
            LocalRequest {
                upload: Some(("image/png", 10)),
                ..ok.clone()
            },
            LocalRequest {
                key: "uploads/1/b.jpg",
                ..ok.clone()
            },
            LocalRequest {
                method: "GET",
                ..ok.clone()
            },
            LocalRequest {
                expires: 2_000_000_001,
                ..ok.clone()
            },
            LocalRequest {
                signature: "zz",
                ..ok.clone()
            },
        ] {
            assert_eq!(store.verify(&bad), Err(UrlRefusal::BadSignature), "{bad:?}");
        }
        let past = 1_000;
        let sig = store.signature(&signed_text("GET", "k", past, None));
        let expired = LocalRequest {
            method: "GET",
            key: "k",
            expires: past,
            signature: &sig,
            upload: None,
        };
        assert_eq!(store.verify(&expired), Err(UrlRefusal::Expired));
    }

    #[test]
    fn keys_stay_inside_the_store() {
        assert!(valid_key("uploads/7/0f3c.jpg"));
        for bad in [
            "",
            "../etc/passwd",
            "/abs",
            "uploads/../x",
            "a b",
            "uploads/%2e%2e",
        ] {
            assert!(!valid_key(bad), "{bad}");
        }
    }
}
