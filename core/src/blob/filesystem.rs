//! A `BlobStore` on the local filesystem for single-node deployments.
//!
//! Objects are written to a temporary file, fsynced and hard-linked into place, so a crash never
//! leaves a partial object visible and `put_if_absent` is atomic.

use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;

use super::BlobStore;
use crate::error::{BackendError, BackendResult};

const BACKEND: &str = "filesystem blob store";

/// Objects as files under one root directory; keys are relative paths.
#[derive(Debug, Clone)]
pub struct FilesystemBlobStore {
    root: PathBuf,
}

impl FilesystemBlobStore {
    /// Returns a store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path_of(&self, key: &str) -> BackendResult<PathBuf> {
        let relative = Path::new(key);
        let safe = !key.is_empty()
            && relative
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
        if !safe {
            return Err(BackendError::Invalid {
                backend: BACKEND,
                message: format!("key {key:?} must be a relative path without '..'"),
            });
        }
        Ok(self.root.join(relative))
    }
}

fn io_error(context: String) -> impl FnOnce(std::io::Error) -> BackendError {
    move |source| BackendError::Io {
        backend: BACKEND,
        context,
        source,
    }
}

fn put_if_absent_blocking(path: &Path, body: &[u8]) -> std::io::Result<bool> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile_in(dir)?;
    temp.1.write_all(body)?;
    temp.1.sync_all()?;
    let created = match std::fs::hard_link(&temp.0, path) {
        Ok(()) => true,
        Err(error) if error.kind() == ErrorKind::AlreadyExists => false,
        Err(error) => {
            let _ = std::fs::remove_file(&temp.0);
            return Err(error);
        }
    };
    std::fs::remove_file(&temp.0)?;
    Ok(created)
}

/// Creates a uniquely named temporary file in `dir`.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let name = format!(".tmp-{}", uuid::Uuid::now_v7());
    let path = dir.join(name);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok((path, file))
}

fn list_blocking(root: &Path, prefix: &str) -> std::io::Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
                continue;
            }
            let Ok(relative) = path.strip_prefix(root) else {
                continue;
            };
            let key = relative.to_string_lossy().replace('\\', "/");
            let is_temp = key
                .rsplit('/')
                .next()
                .is_some_and(|n| n.starts_with(".tmp-"));
            if key.starts_with(prefix) && !is_temp {
                keys.push(key);
            }
        }
    }
    keys.sort();
    Ok(keys)
}

#[async_trait]
impl BlobStore for FilesystemBlobStore {
    async fn put_if_absent(&self, key: &str, body: Bytes) -> BackendResult<bool> {
        let path = self.path_of(key)?;
        let context = format!("failed to write object {key}");
        tokio::task::spawn_blocking(move || put_if_absent_blocking(&path, &body))
            .await
            .map_err(|error| BackendError::Other {
                backend: BACKEND,
                context: "blocking write task failed".to_owned(),
                source: Box::new(error),
            })?
            .map_err(io_error(context))
    }

    async fn get(&self, key: &str) -> BackendResult<Option<Bytes>> {
        let path = self.path_of(key)?;
        match tokio::fs::read(&path).await {
            Ok(body) => Ok(Some(Bytes::from(body))),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
            Err(error) => Err(io_error(format!("failed to read object {key}"))(error)),
        }
    }

    async fn list(&self, prefix: &str) -> BackendResult<Vec<String>> {
        let root = self.root.clone();
        let prefix_owned = prefix.to_owned();
        tokio::task::spawn_blocking(move || list_blocking(&root, &prefix_owned))
            .await
            .map_err(|error| BackendError::Other {
                backend: BACKEND,
                context: "blocking list task failed".to_owned(),
                source: Box::new(error),
            })?
            .map_err(io_error(format!("failed to list prefix {prefix}")))
    }

    async fn delete(&self, key: &str) -> BackendResult<()> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
            Err(error) => Err(io_error(format!("failed to delete object {key}"))(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_if_absent_creates_once_and_lists_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = FilesystemBlobStore::new(dir.path());
        assert!(
            store
                .put_if_absent("a/b/1.bin", Bytes::from_static(b"one"))
                .await
                .unwrap()
        );
        assert!(
            !store
                .put_if_absent("a/b/1.bin", Bytes::from_static(b"two"))
                .await
                .unwrap()
        );
        assert_eq!(
            store.get("a/b/1.bin").await.unwrap().unwrap(),
            Bytes::from_static(b"one")
        );
        assert_eq!(
            store.list("a/").await.unwrap(),
            vec!["a/b/1.bin".to_string()]
        );
        store.delete("a/b/1.bin").await.unwrap();
        assert_eq!(store.get("a/b/1.bin").await.unwrap(), None);
    }

    #[tokio::test]
    async fn keys_escaping_the_root_are_rejected() {
        let store = FilesystemBlobStore::new("/nonexistent");
        let error = store.get("../etc/passwd").await.unwrap_err();
        assert!(matches!(error, BackendError::Invalid { .. }), "{error}");
    }
}
