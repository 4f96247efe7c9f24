//! Pure helpers of the builtin functions (spec §3): string splitting,
//! base64 as Go encodes it, and the ciphertext envelope of `fn::secret`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Go's `strings.Split`: exact substring split; an empty separator splits
/// into characters; splitting `""` by a non-empty separator gives `[""]`.
pub(crate) fn split(s: &str, sep: &str) -> Vec<String> {
    if sep.is_empty() {
        return s.chars().map(String::from).collect();
    }
    s.split(sep).map(str::to_string).collect()
}

/// Standard base64 with padding.
pub(crate) fn to_base64(s: &str) -> String {
    STANDARD.encode(s.as_bytes())
}

/// Decode standard padded base64; the error text follows Go
/// (`illegal base64 data at input byte N`).
pub(crate) fn from_base64(s: &str) -> Result<String, String> {
    let bytes = decode_go_base64(s)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Decode base64 like Go's `base64.StdEncoding.DecodeString`, with its
/// error messages (Go skips `\r` and `\n`).
fn decode_go_base64(s: &str) -> Result<Vec<u8>, String> {
    let cleaned: Vec<(usize, u8)> = s
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b != b'\r' && *b != b'\n')
        .collect();
    let illegal = |i: usize| format!("illegal base64 data at input byte {i}");
    let value = |b: u8| -> Option<u32> {
        match b {
            b'A'..=b'Z' => Some(u32::from(b - b'A')),
            b'a'..=b'z' => Some(u32::from(b - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(b - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    };
    let mut out = Vec::with_capacity(cleaned.len() / 4 * 3);
    let mut chunk = 0;
    while chunk < cleaned.len() {
        let quad = &cleaned[chunk..(chunk + 4).min(cleaned.len())];
        let mut acc: u32 = 0;
        let mut n = 0;
        for (j, &(pos, b)) in quad.iter().enumerate() {
            if b == b'=' {
                // Padding: only in the last two places of the final quad.
                if j < 2 {
                    return Err(illegal(pos));
                }
                let rest = &cleaned[chunk + j..];
                let expected_pad = 4 - j;
                if rest.len() != expected_pad || rest.iter().any(|(_, c)| *c != b'=') {
                    let bad = rest
                        .iter()
                        .find(|(_, c)| *c != b'=')
                        .map(|(p, _)| *p)
                        .unwrap_or(pos);
                    return Err(illegal(bad.max(pos)));
                }
                break;
            }
            let Some(v) = value(b) else {
                return Err(illegal(pos));
            };
            acc = (acc << 6) | v;
            n += 1;
        }
        if n < 4 && quad.len() < 4 && !quad.iter().any(|(_, b)| *b == b'=') {
            // Missing padding.
            return Err(illegal(quad[0].0));
        }
        match n {
            4 => out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]),
            3 => {
                acc <<= 6;
                out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8]);
            }
            2 => {
                acc <<= 12;
                out.push((acc >> 16) as u8);
            }
            _ => return Err(illegal(quad.first().map(|(p, _)| *p).unwrap_or(0))),
        }
        if n < 4 {
            break;
        }
        chunk += 4;
    }
    Ok(out)
}

/// Open the ciphertext envelope: base64 of `"escx"` ‖ u32 BE version (1) ‖
/// ciphertext ‖ u32 BE CRC-32 of all preceding bytes. Returns the ciphertext
/// or the reason it is invalid.
pub(crate) fn decode_envelope(text: &str) -> Result<Vec<u8>, String> {
    let bytes = decode_go_base64(text)?;
    if bytes.len() < 16 {
        return Err("EOF".into());
    }
    if &bytes[..4] != b"escx" {
        return Err("invalid header".into());
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let expected = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if crc32(body) != expected {
        return Err("invalid checksum".into());
    }
    let version = u32::from_be_bytes([body[4], body[5], body[6], body[7]]);
    if version != 1 {
        return Err("unsupported version".into());
    }
    Ok(body[8..].to_vec())
}

/// Seal `ciphertext` in the envelope (the inverse of [`decode_envelope`]).
pub fn encode_envelope(ciphertext: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(ciphertext.len() + 12);
    bytes.extend_from_slice(b"escx");
    bytes.extend_from_slice(&1u32.to_be_bytes());
    bytes.extend_from_slice(ciphertext);
    let crc = crc32(&bytes);
    bytes.extend_from_slice(&crc.to_be_bytes());
    STANDARD.encode(bytes)
}

/// CRC-32/IEEE.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn envelope_round_trip_and_errors() {
        let rot: Vec<u8> = b"hunter2".iter().map(|b| b.wrapping_add(128)).collect();
        assert_eq!(encode_envelope(&rot), "ZXNjeAAAAAHo9e705fKyKo30VQ==");
        assert_eq!(
            decode_envelope("ZXNjeAAAAAHo9e705fKyKo30VQ==").unwrap(),
            rot
        );
        assert_eq!(decode_envelope("hunter23").unwrap_err(), "EOF");
        assert_eq!(
            decode_envelope("ZXNj!").unwrap_err(),
            "illegal base64 data at input byte 4"
        );
    }

    #[test]
    fn go_split() {
        assert_eq!(split("a,b", ","), vec!["a", "b"]);
        assert_eq!(split("", ","), vec![""]);
        assert_eq!(split("ab", ""), vec!["a", "b"]);
    }

    #[test]
    fn base64_like_go() {
        assert_eq!(to_base64("hello,world"), "aGVsbG8sd29ybGQ=");
        assert_eq!(from_base64("aGVsbG8sd29ybGQ=").unwrap(), "hello,world");
        assert_eq!(
            from_base64("aGVsbG8").unwrap_err(),
            "illegal base64 data at input byte 4"
        );
    }
}
