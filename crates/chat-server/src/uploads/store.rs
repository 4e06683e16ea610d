//! The upload folder: a multipart body streamed to disk under a size limit,
//! judged by its bytes, named by the server, and written whole or not at all;
//! and the check that an image message names a file in it.

use std::path::{Path, PathBuf};

use axum::body::BodyDataStream;
use tokio::io::AsyncWriteExt;

use super::{is_upload_name, URL_PREFIX};
use crate::error::{AppError, AppResult};

/// Room for the multipart envelope around the file.
pub(super) const ENVELOPE_BYTES: u64 = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Png,
    Jpeg,
    Gif,
    Webp,
}

impl ImageKind {
    /// The kind, judged by the first bytes (the name and the claimed type do not count).
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
            Some(Self::Gif)
        } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else {
            None
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Gif => "gif",
            Self::Webp => "webp",
        }
    }
}

/// A file written whole into the folder.
#[derive(Debug)]
pub struct StoredFile {
    pub name: String,
    pub bytes: u64,
}

/// Bytes needed to tell the kinds apart.
const SNIFF_BYTES: usize = 12;

/// The upload folder.
#[derive(Debug, Clone)]
pub struct Uploads {
    dir: PathBuf,
    max_bytes: u64,
}

impl Uploads {
    pub fn new(dir: PathBuf, max_bytes: u64) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir, max_bytes })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Whether `url` is a `/uploads/<name>` naming a file in the upload folder
    /// (issued by this server, or by the Flask app before it).
    pub async fn issued(&self, url: &str) -> bool {
        let Some(name) = url.strip_prefix(URL_PREFIX) else {
            return false;
        };
        if !is_upload_name(name) {
            return false;
        }
        tokio::fs::metadata(self.dir.join(name))
            .await
            .is_ok_and(|m| m.is_file())
    }

    /// Free bytes for unprivileged writers on the folder's file system.
    pub async fn free_bytes(&self) -> std::io::Result<u64> {
        let dir = self.dir.clone();
        // statvfs may block on a network file system: off the async workers.
        let stat = tokio::task::spawn_blocking(move || rustix::fs::statvfs(&dir))
            .await
            .map_err(std::io::Error::other)??;
        Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
    }

    /// Takes back a stored file (an upload refused after it was written).
    pub async fn remove(&self, name: &str) {
        if let Err(e) = tokio::fs::remove_file(self.dir.join(name)).await {
            tracing::warn!(file = name, error = %e, "cannot remove a refused upload");
        }
    }

    /// Removes the file of a deleted image message (gone already is fine).
    pub async fn discard(&self, name: &str) {
        match tokio::fs::remove_file(self.dir.join(name)).await {
            Ok(()) => tracing::info!(file = name, "image of a deleted message removed"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(file = name, error = %e, "cannot remove the image of a deleted message")
            }
        }
    }

    /// Streams the `file` field of a multipart body into the folder; the
    /// stored file once every byte is on disk.
    pub async fn store(
        &self,
        content_type: &str,
        body: &mut BodyDataStream,
    ) -> AppResult<StoredFile> {
        let boundary = multer::parse_boundary(content_type)
            .map_err(|_| AppError::bad_request("请使用 multipart/form-data 上传文件"))?;
        let limits = multer::Constraints::new().size_limit(
            multer::SizeLimit::new()
                .whole_stream(self.max_bytes + ENVELOPE_BYTES)
                .per_field(self.max_bytes),
        );
        let mut multipart = multer::Multipart::with_constraints(body, boundary, limits);
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| self.multipart_error(e))?
        {
            if field.name() == Some("file") {
                return self.store_field(field).await;
            }
        }
        Err(AppError::bad_request("没有选择文件"))
    }

    async fn store_field(&self, mut field: multer::Field<'_>) -> AppResult<StoredFile> {
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        let mut chunks = Vec::new();
        while head.len() < SNIFF_BYTES {
            match field.chunk().await.map_err(|e| self.multipart_error(e))? {
                Some(chunk) => {
                    head.extend_from_slice(&chunk[..chunk.len().min(SNIFF_BYTES - head.len())]);
                    chunks.push(chunk);
                }
                None => break,
            }
        }
        let kind = ImageKind::sniff(&head)
            .ok_or_else(|| AppError::bad_request("只支持 PNG、JPEG、GIF、WebP 格式的图片"))?;
        let name = format!("{}.{}", uuid::Uuid::new_v4().simple(), kind.extension());
        let partial = self.dir.join(format!(".{name}.part"));
        // Every write's error counts: tokio's File reports a failed write on
        // the next operation, so flush before sync_all (which would drop it).
        let result = async {
            let mut file = tokio::fs::File::create(&partial)
                .await
                .map_err(AppError::Storage)?;
            let mut bytes = 0;
            for chunk in chunks {
                file.write_all(&chunk).await.map_err(AppError::Storage)?;
                bytes += chunk.len() as u64;
            }
            while let Some(chunk) = field.chunk().await.map_err(|e| self.multipart_error(e))? {
                file.write_all(&chunk).await.map_err(AppError::Storage)?;
                bytes += chunk.len() as u64;
            }
            file.flush().await.map_err(AppError::Storage)?;
            file.sync_all().await.map_err(AppError::Storage)?;
            drop(file);
            if let Some(stripped) = strip_metadata(partial.clone(), kind, self.max_bytes).await? {
                bytes = stripped;
            }
            tokio::fs::rename(&partial, self.dir.join(&name))
                .await
                .map_err(AppError::Storage)?;
            Ok(bytes)
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&partial).await;
        }
        result.map(|bytes| StoredFile { name, bytes })
    }

    fn multipart_error(&self, e: multer::Error) -> AppError {
        match e {
            multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
                AppError::TooLarge(self.max_bytes / (1024 * 1024))
            }
            other => AppError::bad_request(format!("上传数据格式错误: {other}")),
        }
    }
}

/// Rewrites the written file without its metadata (super::metadata), off
/// the async workers; the new size when anything was removed.
/// A file at the size limit whose only EXIF was a tiny orientation stays as
/// it came rather than grow past the limit.
async fn strip_metadata(path: PathBuf, kind: ImageKind, max: u64) -> AppResult<Option<u64>> {
    tokio::task::spawn_blocking(move || {
        let bytes = std::fs::read(&path)?;
        let Some(stripped) = super::metadata::strip(kind, &bytes) else {
            return Ok(None);
        };
        if stripped.len() as u64 > max {
            return Ok(None);
        }
        let mut file = std::fs::File::create(&path)?;
        std::io::Write::write_all(&mut file, &stripped)?;
        file.sync_all()?;
        Ok(Some(stripped.len() as u64))
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::Storage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_judged_by_their_bytes() {
        assert_eq!(
            ImageKind::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(ImageKind::Png)
        );
        assert_eq!(
            ImageKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]),
            Some(ImageKind::Jpeg)
        );
        assert_eq!(
            ImageKind::sniff(b"GIF89a\x01\0\x01\0"),
            Some(ImageKind::Gif)
        );
        assert_eq!(
            ImageKind::sniff(b"RIFF\x24\0\0\0WEBPVP8 "),
            Some(ImageKind::Webp)
        );
        assert_eq!(ImageKind::sniff(b"RIFF\x24\0\0\0WAVEfmt "), None);
        assert_eq!(ImageKind::sniff(b"<svg xmlns="), None);
        assert_eq!(ImageKind::sniff(b""), None);
    }
}
