//! Envelope encryption at rest: a master key wraps one random data key per
//! environment; the data key encrypts everything of that environment that can
//! hold a secret. AES-256-GCM with random 96-bit nonces; every ciphertext is
//! `nonce ‖ ciphertext ‖ tag` and is bound by its AAD to what it is (purpose,
//! environment id, and e.g. the revision number), so stored blobs cannot be
//! swapped between rows unnoticed.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::error::StoreError;

/// Length in bytes of the master key and of each data key (AES-256).
pub const KEY_LEN: usize = 32;
/// The environment variable [`MasterKey::from_env`] reads (base64 of 32 bytes).
pub const MASTER_KEY_ENV: &str = "ESC_MASTER_KEY";
const TAG_LEN: usize = 16;

/// Decrypted bytes. Wiped from memory on drop; `Debug` shows only the length.
#[derive(Clone)]
pub struct Plaintext(Zeroizing<Vec<u8>>);

impl Plaintext {
    /// Wraps bytes that are secret.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    fn from_zeroizing(bytes: Zeroizing<Vec<u8>>) -> Self {
        Self(bytes)
    }

    /// The secret bytes. Greppable on purpose: every caller is a place where
    /// plaintext leaves the store.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret bytes as UTF-8, if they are.
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Plaintext([redacted; {} bytes])", self.0.len())
    }
}

/// Where a master key came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MasterKeySource {
    /// A file holding the base64 key.
    File(PathBuf),
    /// An environment variable holding the base64 key.
    Environment(String),
}

impl fmt::Display for MasterKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "file {}", path.display()),
            Self::Environment(name) => write!(f, "environment variable {name}"),
        }
    }
}

/// The key that wraps every data key. Never printed; wiped on drop (the raw
/// bytes are zeroized here, the expanded AES key by aws-lc when freed).
pub struct MasterKey {
    key: LessSafeKey,
    fingerprint: String,
}

impl MasterKey {
    /// A master key from 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StoreError> {
        if bytes.len() != KEY_LEN {
            return Err(StoreError::MasterKey {
                source_name: "bytes".into(),
                reason: format!("expected {KEY_LEN} bytes, got {}", bytes.len()),
            });
        }
        let key = aes_key(bytes)?;
        let mut hashed = Zeroizing::new(b"esc master key fingerprint v1\0".to_vec());
        hashed.extend_from_slice(bytes);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &hashed);
        Ok(Self {
            key,
            fingerprint: hex(&digest.as_ref()[..8]),
        })
    }

    /// A fresh random master key.
    pub fn generate() -> Result<Self, StoreError> {
        let bytes = random_key()?;
        Self::from_bytes(&bytes[..])
    }

    /// A master key from base64 text (standard alphabet, surrounding whitespace ignored).
    pub fn from_base64(text: &str, source_name: &str) -> Result<Self, StoreError> {
        let bytes =
            Zeroizing::new(
                STANDARD
                    .decode(text.trim())
                    .map_err(|_| StoreError::MasterKey {
                        source_name: source_name.into(),
                        reason: "not valid base64".into(),
                    })?,
            );
        Self::from_bytes(&bytes).map_err(|_| StoreError::MasterKey {
            source_name: source_name.into(),
            reason: format!("expected base64 of {KEY_LEN} bytes"),
        })
    }

    /// The key in [`MASTER_KEY_ENV`], or `None` when the variable is unset.
    pub fn from_env() -> Result<Option<Self>, StoreError> {
        match std::env::var(MASTER_KEY_ENV) {
            Ok(text) => Self::from_base64(&text, MASTER_KEY_ENV).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(StoreError::MasterKey {
                source_name: MASTER_KEY_ENV.into(),
                reason: "not valid base64".into(),
            }),
        }
    }

    /// The key stored in `path`. Refuses a file that others can read.
    pub fn load(path: &Path) -> Result<Self, StoreError> {
        let io_error = |source| StoreError::Io {
            path: path.to_owned(),
            source,
        };
        check_private(path).map_err(io_error)?;
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io_error)?);
        Self::from_base64(&text, &path.display().to_string())
    }

    /// The key stored in `path`, generating it (file mode 0600, parent
    /// directory 0700 when created) on first use. Safe when two processes
    /// race: the file is created exclusively and the loser reads the winner's.
    pub fn load_or_create(path: &Path) -> Result<(Self, MasterKeySource), StoreError> {
        let io_error = |source| StoreError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(parent).map_err(|source| StoreError::Io {
                path: parent.to_owned(),
                source,
            })?;
        }
        let source = MasterKeySource::File(path.to_owned());
        if path.exists() {
            return Ok((Self::load(path)?, source));
        }
        let bytes = random_key()?;
        let text = Zeroizing::new(format!("{}\n", STANDARD.encode(&bytes[..])));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(path) {
            Ok(mut file) => {
                file.write_all(text.as_bytes()).map_err(io_error)?;
                file.sync_all().map_err(io_error)?;
                Ok((Self::from_bytes(&bytes[..])?, source))
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok((Self::load(path)?, source))
            }
            Err(error) => Err(io_error(error)),
        }
    }

    /// A short hash identifying this key (safe to show and store).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Encrypts a new random data key for environment `env_id`; returns the
    /// wrapped key (to store) and the cipher using it.
    pub(crate) fn new_data_key(
        &self,
        env_id: &str,
    ) -> Result<(Vec<u8>, EnvironmentCipher), StoreError> {
        let data_key = random_key()?;
        let wrapped = seal(&self.key, &data_key_aad(env_id), &data_key[..])?;
        Ok((wrapped, EnvironmentCipher::new(env_id, &data_key[..])?))
    }

    /// The cipher of environment `env_id` from its stored wrapped key.
    pub(crate) fn unwrap_data_key(
        &self,
        env_id: &str,
        wrapped: &[u8],
    ) -> Result<EnvironmentCipher, StoreError> {
        let data_key =
            open(&self.key, &data_key_aad(env_id), wrapped).map_err(|_| StoreError::Decrypt {
                what: "the environment's data key (wrong master key?)".into(),
            })?;
        EnvironmentCipher::new(env_id, &data_key)
    }

    /// Re-wraps an environment's data key (as stored) under `new`.
    pub(crate) fn rewrap_data_key(
        &self,
        env_id: &str,
        wrapped: &[u8],
        new: &MasterKey,
    ) -> Result<Vec<u8>, StoreError> {
        let data_key =
            open(&self.key, &data_key_aad(env_id), wrapped).map_err(|_| StoreError::Decrypt {
                what: "the environment's data key (wrong master key?)".into(),
            })?;
        seal(&new.key, &data_key_aad(env_id), &data_key)
    }

    /// Encrypts a value that belongs to no environment (signing keys).
    pub(crate) fn seal_global(
        &self,
        purpose: &str,
        context: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        seal(&self.key, &global_aad(purpose, context), plaintext)
    }

    /// Decrypts what [`MasterKey::seal_global`] produced.
    pub(crate) fn open_global(
        &self,
        purpose: &str,
        context: &str,
        ciphertext: &[u8],
    ) -> Result<Plaintext, StoreError> {
        open(&self.key, &global_aad(purpose, context), ciphertext)
            .map(Plaintext::from_zeroizing)
            .map_err(|_| StoreError::Decrypt {
                what: format!("{purpose} {context}"),
            })
    }
}

/// Encrypts and decrypts bytes for one environment with its data key.
pub struct EnvironmentCipher {
    env_id: String,
    key: LessSafeKey,
}

impl EnvironmentCipher {
    fn new(env_id: &str, data_key: &[u8]) -> Result<Self, StoreError> {
        Ok(Self {
            env_id: env_id.to_owned(),
            key: aes_key(data_key)?,
        })
    }

    /// The id of the environment this cipher belongs to.
    pub fn environment_id(&self) -> &str {
        &self.env_id
    }

    /// Encrypts a user secret (the inside of a `fn::secret` ciphertext).
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.seal("secret", "", plaintext)
    }

    /// Decrypts what [`EnvironmentCipher::encrypt`] produced for this environment.
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Plaintext, StoreError> {
        self.open("secret", "", ciphertext)
    }

    pub(crate) fn seal(
        &self,
        purpose: &str,
        context: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        seal(&self.key, &self.aad(purpose, context), plaintext)
    }

    pub(crate) fn open(
        &self,
        purpose: &str,
        context: &str,
        ciphertext: &[u8],
    ) -> Result<Plaintext, StoreError> {
        open(&self.key, &self.aad(purpose, context), ciphertext)
            .map(Plaintext::from_zeroizing)
            .map_err(|_| StoreError::Decrypt {
                what: if context.is_empty() {
                    purpose.to_owned()
                } else {
                    format!("{purpose} {context}")
                },
            })
    }

    fn aad(&self, purpose: &str, context: &str) -> Vec<u8> {
        format!("esc/v1/{purpose}/{}/{context}", self.env_id).into_bytes()
    }
}

/// Why a `fn::secret` ciphertext envelope could not be decoded. The texts are
/// the reasons of spec/LANGUAGE.md § 3 (shown as `invalid ciphertext: <reason>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Not standard padded base64.
    #[error("illegal base64 data at input byte {byte}")]
    Base64 {
        /// Offset of the first bad input byte.
        byte: usize,
    },
    /// Shorter than the smallest envelope (16 bytes).
    #[error("EOF")]
    Eof,
    /// Does not start with `escx`.
    #[error("invalid header")]
    InvalidHeader,
    /// The CRC-32 does not match.
    #[error("invalid checksum")]
    InvalidChecksum,
    /// A version other than 1.
    #[error("unsupported version")]
    UnsupportedVersion,
}

/// Why [`open_secret`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenSecretError {
    /// The envelope is malformed.
    #[error("invalid ciphertext: {0}")]
    InvalidCiphertext(#[from] EnvelopeError),
    /// The envelope is well formed but does not decrypt with this environment's key.
    #[error("decrypting: {0}")]
    Decrypt(StoreError),
}

const ENVELOPE_MAGIC: &[u8; 4] = b"escx";
const ENVELOPE_VERSION: u32 = 1;

/// Wraps raw ciphertext in the `fn::secret` envelope: base64 of `escx` ‖ u32
/// BE version 1 ‖ ciphertext ‖ u32 BE CRC-32/IEEE of all preceding bytes.
pub fn encode_envelope(ciphertext: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(ciphertext.len() + 12);
    bytes.extend_from_slice(ENVELOPE_MAGIC);
    bytes.extend_from_slice(&ENVELOPE_VERSION.to_be_bytes());
    bytes.extend_from_slice(ciphertext);
    let crc = crc32(&bytes);
    bytes.extend_from_slice(&crc.to_be_bytes());
    STANDARD.encode(bytes)
}

/// Unwraps a `fn::secret` envelope, checking in the order of the spec:
/// base64, length, magic, checksum, version.
pub fn decode_envelope(text: &str) -> Result<Vec<u8>, EnvelopeError> {
    let bytes = STANDARD
        .decode(text)
        .map_err(|error| EnvelopeError::Base64 {
            byte: match error {
                base64::DecodeError::InvalidByte(offset, _)
                | base64::DecodeError::InvalidLastSymbol(offset, _) => offset,
                base64::DecodeError::InvalidLength(length) => length,
                base64::DecodeError::InvalidPadding => text.len(),
            },
        })?;
    if bytes.len() < 16 {
        return Err(EnvelopeError::Eof);
    }
    if &bytes[..4] != ENVELOPE_MAGIC {
        return Err(EnvelopeError::InvalidHeader);
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    if crc32(body).to_be_bytes() != crc {
        return Err(EnvelopeError::InvalidChecksum);
    }
    if body[4..8] != ENVELOPE_VERSION.to_be_bytes() {
        return Err(EnvelopeError::UnsupportedVersion);
    }
    Ok(body[8..].to_vec())
}

/// Encrypts a secret for a `fn::secret: {ciphertext: …}` value of the
/// cipher's environment.
pub fn seal_secret(cipher: &EnvironmentCipher, plaintext: &[u8]) -> Result<String, StoreError> {
    Ok(encode_envelope(&cipher.encrypt(plaintext)?))
}

/// Decrypts a `fn::secret: {ciphertext: …}` value of the cipher's environment.
pub fn open_secret(
    cipher: &EnvironmentCipher,
    envelope: &str,
) -> Result<Plaintext, OpenSecretError> {
    let ciphertext = decode_envelope(envelope)?;
    cipher
        .decrypt(&ciphertext)
        .map_err(OpenSecretError::Decrypt)
}

/// CRC-32/IEEE (the polynomial of zlib, PNG and Go's `crc32.ChecksumIEEE`).
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc = CRC_TABLE[((crc ^ u32::from(*byte)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

const CRC_TABLE: [u32; 256] = crc_table();

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut index = 0;
    while index < 256 {
        let mut crc = index as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                0xEDB8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[index] = crc;
        index += 1;
    }
    table
}

/// Random bytes from the system generator.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], StoreError> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| StoreError::Crypto {
        operation: "random generation",
    })?;
    Ok(bytes)
}

/// SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}

/// SHA-256 of a bearer secret (an access token, a session id): how the
/// store keys them without keeping them, and how in-memory caches of other
/// layers should key them too.
pub fn secret_digest(secret: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret).as_ref());
    out
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

fn random_key() -> Result<Zeroizing<[u8; KEY_LEN]>, StoreError> {
    random_bytes::<KEY_LEN>().map(Zeroizing::new)
}

fn aes_key(bytes: &[u8]) -> Result<LessSafeKey, StoreError> {
    let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| StoreError::Crypto {
        operation: "aes key setup",
    })?;
    Ok(LessSafeKey::new(unbound))
}

fn data_key_aad(env_id: &str) -> Vec<u8> {
    format!("esc/v1/data-key/{env_id}").into_bytes()
}

fn global_aad(purpose: &str, context: &str) -> Vec<u8> {
    format!("esc/v1/{purpose}//{context}").into_bytes()
}

fn seal(key: &LessSafeKey, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
    let nonce_bytes = random_bytes::<NONCE_LEN>()?;
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(plaintext);
    let mut in_out = out.split_off(NONCE_LEN);
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce_bytes),
        Aad::from(aad),
        &mut in_out,
    )
    .map_err(|_| StoreError::Crypto {
        operation: "aes-gcm seal",
    })?;
    out.extend_from_slice(&in_out);
    Ok(out)
}

/// Decrypts `nonce ‖ ciphertext ‖ tag`; `Err(())` when it does not authenticate.
fn open(key: &LessSafeKey, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, ()> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(());
    }
    let (nonce_bytes, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce_bytes).map_err(|_| ())?;
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    let plaintext_len = key
        .open_in_place(nonce, Aad::from(aad), buffer.as_mut_slice())
        .map_err(|_| ())?
        .len();
    buffer.truncate(plaintext_len);
    Ok(buffer)
}

fn check_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "key file is accessible by others (mode {:o}); run chmod 600",
                    mode & 0o777
                ),
            ));
        }
    }
    Ok(())
}

pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests;
