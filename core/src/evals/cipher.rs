//! Encryption at rest of LLM connection API keys: AES-256-GCM with a key from
//! `PERISCOPE_ENCRYPTION_KEY` (64 hex characters).
//!
//! A missing or malformed key is not an error at startup: a server without LLM connections
//! needs none. It is reported, naming the variable and how to make a key, the first time a key
//! is sealed (a connection is created) or opened (a connection is used).

use std::fmt;
use std::sync::Arc;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine as _;

/// The environment variable holding the 256-bit key, as 64 hex characters.
pub const ENCRYPTION_KEY_ENV: &str = "PERISCOPE_ENCRYPTION_KEY";

/// How to make a key, quoted in every key error.
const HOW_TO_GENERATE: &str =
    "set it to 64 hex characters (256 bits), e.g. generated with `openssl rand -hex 32`";

/// The prefix of a sealed value, naming the format (so it can change later).
const SEALED_PREFIX: &str = "v1.";
const NONCE_LEN: usize = 12;

/// Why a secret could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// `PERISCOPE_ENCRYPTION_KEY` is not set.
    #[error(
        "{ENCRYPTION_KEY_ENV} is not set; it is needed to encrypt LLM connection keys: {HOW_TO_GENERATE}"
    )]
    MissingKey,
    /// `PERISCOPE_ENCRYPTION_KEY` is not 64 hex characters.
    #[error("{ENCRYPTION_KEY_ENV} is malformed ({problem}): {HOW_TO_GENERATE}")]
    MalformedKey { problem: String },
    /// The sealed value is damaged, or was sealed with another key.
    #[error(
        "failed to decrypt a stored LLM connection key: it was sealed with another \
         {ENCRYPTION_KEY_ENV} or is damaged"
    )]
    Decrypt,
    /// Randomness for the nonce was unavailable.
    #[error("failed to encrypt an LLM connection key: {0}")]
    Encrypt(String),
}

/// Seals and opens secrets with the configured key.
#[derive(Clone)]
pub struct SecretCipher {
    key: Result<Arc<Aes256Gcm>, CipherError>,
}

impl fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.key {
            Ok(_) => "configured",
            Err(CipherError::MissingKey) => "missing",
            Err(_) => "malformed",
        };
        f.debug_struct("SecretCipher").field("key", &state).finish()
    }
}

impl SecretCipher {
    /// Returns a cipher for `hex_key` (64 hex characters); `None` or a bad value gives a cipher
    /// whose every use fails with the reason.
    pub fn from_hex(hex_key: Option<&str>) -> Self {
        let key = match hex_key.map(str::trim) {
            None | Some("") => Err(CipherError::MissingKey),
            Some(text) => parse_key(text).map(Arc::new),
        };
        Self { key }
    }

    /// Returns a cipher for the key in `PERISCOPE_ENCRYPTION_KEY`.
    pub fn from_env() -> Self {
        Self::from_hex(std::env::var(ENCRYPTION_KEY_ENV).ok().as_deref())
    }

    /// Returns `Ok` when a usable key is configured.
    pub fn check(&self) -> Result<(), CipherError> {
        self.key.as_ref().map(|_| ()).map_err(Clone::clone)
    }

    /// Encrypts `plain`, bound to `context` (which must be given again to open it), as
    /// `v1.` + base64(nonce ‖ ciphertext ‖ tag).
    pub fn seal(&self, plain: &str, context: &str) -> Result<String, CipherError> {
        let cipher = self.key.as_ref().map_err(Clone::clone)?;
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|error| CipherError::Encrypt(error.to_string()))?;
        let payload = Payload {
            msg: plain.as_bytes(),
            aad: context.as_bytes(),
        };
        let ciphertext = cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| CipherError::Encrypt("aes-gcm refused the input".to_owned()))?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(format!(
            "{SEALED_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(sealed)
        ))
    }

    /// Decrypts a value made by [`SecretCipher::seal`] with the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<String, CipherError> {
        let cipher = self.key.as_ref().map_err(Clone::clone)?;
        let encoded = sealed
            .strip_prefix(SEALED_PREFIX)
            .ok_or(CipherError::Decrypt)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| CipherError::Decrypt)?;
        if bytes.len() < NONCE_LEN {
            return Err(CipherError::Decrypt);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: context.as_bytes(),
        };
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| CipherError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| CipherError::Decrypt)
    }
}

fn parse_key(text: &str) -> Result<Aes256Gcm, CipherError> {
    if text.len() != 64 {
        return Err(CipherError::MalformedKey {
            problem: format!("{} characters instead of 64", text.len()),
        });
    }
    let bytes = hex::decode(text).map_err(|_| CipherError::MalformedKey {
        problem: "not hexadecimal".to_owned(),
    })?;
    Aes256Gcm::new_from_slice(&bytes).map_err(|_| CipherError::MalformedKey {
        problem: "not 32 bytes".to_owned(),
    })
}
