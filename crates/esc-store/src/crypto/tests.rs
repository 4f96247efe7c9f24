//! Unit tests of the envelope format and the key hierarchy.
#![allow(clippy::unwrap_used)]

use super::*;

fn rot128(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().map(|b| b.wrapping_add(128)).collect()
}

#[test]
fn crc32_matches_the_ieee_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[test]
fn envelope_matches_the_spec_example() {
    // spec/LANGUAGE.md § 3: `hunter2` under rot128.
    assert_eq!(
        encode_envelope(&rot128(b"hunter2")),
        "ZXNjeAAAAAHo9e705fKyKo30VQ=="
    );
    assert_eq!(
        rot128(&decode_envelope("ZXNjeAAAAAHo9e705fKyKo30VQ==").unwrap()),
        b"hunter2"
    );
}

#[test]
fn envelope_errors_follow_the_spec_order() {
    assert_eq!(decode_envelope("hunter23").unwrap_err().to_string(), "EOF");
    assert_eq!(
        decode_envelope("ab$d").unwrap_err(),
        EnvelopeError::Base64 { byte: 2 }
    );
    let bad_magic = STANDARD.encode(b"escy\0\0\0\x01abcdefgh");
    assert_eq!(
        decode_envelope(&bad_magic).unwrap_err(),
        EnvelopeError::InvalidHeader
    );
    let mut bytes = STANDARD.decode("ZXNjeAAAAAHo9e705fKyKo30VQ==").unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert_eq!(
        decode_envelope(&STANDARD.encode(&bytes)).unwrap_err(),
        EnvelopeError::InvalidChecksum
    );
    let mut v2 = b"escx\0\0\0\x02abcd".to_vec();
    let crc = crc32(&v2);
    v2.extend_from_slice(&crc.to_be_bytes());
    assert_eq!(
        decode_envelope(&STANDARD.encode(&v2)).unwrap_err(),
        EnvelopeError::UnsupportedVersion
    );
}

#[test]
fn secrets_round_trip_and_are_bound_to_their_environment() {
    let master = MasterKey::generate().unwrap();
    let (wrapped, cipher) = master.new_data_key("env-a").unwrap();
    let sealed = seal_secret(&cipher, b"hunter2").unwrap();
    assert!(sealed.starts_with("ZXNjeA"));
    assert!(!sealed.contains("hunter2"));
    let again = master.unwrap_data_key("env-a", &wrapped).unwrap();
    assert_eq!(open_secret(&again, &sealed).unwrap().expose(), b"hunter2");

    // The same wrapped key presented as another environment's does not unwrap.
    assert!(master.unwrap_data_key("env-b", &wrapped).is_err());
    // Another environment's key cannot open it.
    let (_, other) = master.new_data_key("env-b").unwrap();
    let error = open_secret(&other, &sealed).unwrap_err();
    assert!(error.to_string().starts_with("decrypting: "), "{error}");
    // Another master key cannot unwrap the data key.
    assert!(
        MasterKey::generate()
            .unwrap()
            .unwrap_data_key("env-a", &wrapped)
            .is_err()
    );
}

#[test]
fn tampered_ciphertext_is_refused() {
    let master = MasterKey::generate().unwrap();
    let (_, cipher) = master.new_data_key("env").unwrap();
    let mut sealed = cipher.seal("revision", "1", b"body").unwrap();
    assert_eq!(
        cipher.open("revision", "1", &sealed).unwrap().expose(),
        b"body"
    );
    // Same bytes, other row: refused.
    assert!(cipher.open("revision", "2", &sealed).is_err());
    let last = sealed.len() - 1;
    sealed[last] ^= 0x80;
    assert!(cipher.open("revision", "1", &sealed).is_err());
    assert!(cipher.open("revision", "1", b"short").is_err());
}

#[test]
fn nonces_are_fresh() {
    let master = MasterKey::generate().unwrap();
    let (_, cipher) = master.new_data_key("env").unwrap();
    assert_ne!(cipher.encrypt(b"x").unwrap(), cipher.encrypt(b"x").unwrap());
}

#[test]
fn plaintext_debug_is_redacted() {
    let text = format!("{:?}", Plaintext::new(b"hunter2".to_vec()));
    assert!(!text.contains("hunter2"));
    assert!(text.contains("7 bytes"));
}

#[test]
fn key_file_is_created_private_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("master.key");
    let (first, source) = MasterKey::load_or_create(&path).unwrap();
    assert_eq!(source, MasterKeySource::File(path.clone()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (second, _) = MasterKey::load_or_create(&path).unwrap();
    assert_eq!(first.fingerprint(), second.fingerprint());
    let (wrapped, _) = first.new_data_key("e").unwrap();
    assert!(second.unwrap_data_key("e", &wrapped).is_ok());
}

#[cfg(unix)]
#[test]
fn key_file_readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("master.key");
    MasterKey::load_or_create(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let error = MasterKey::load(&path).err().unwrap();
    assert!(error.to_string().contains("chmod 600"), "{error}");
}

#[test]
fn bad_base64_key_error_does_not_echo_it() {
    let error = MasterKey::from_base64("c2VjcmV0LWtleS10ZXh0", "TEST")
        .err()
        .unwrap();
    let text = error.to_string();
    assert!(!text.contains("c2VjcmV0"), "{text}");
}
