//! Tests of the secret rewriting helper: the text around secrets is kept.
#![allow(clippy::unwrap_used)]

use super::*;

fn seal(text: &str) -> String {
    seal_plaintext_secrets(text, |plain| Ok(format!("C({})", plain.len()))).unwrap()
}

fn open(text: &str) -> String {
    open_ciphertext_secrets(text, |cipher| Ok(format!("p<{cipher}>"))).unwrap()
}

#[test]
fn seals_plain_and_quoted_secrets_keeping_comments() {
    let text = "# top\nvalues:\n  a: {fn::secret: hunter2} # c1\n  b:\n    fn::secret: \"quoted\"\n  c:\n    fn::secret: 'single'\n  d: plain\n";
    assert_eq!(
        seal(text),
        "# top\nvalues:\n  a: {fn::secret: {ciphertext: C(7)}} # c1\n  b:\n    fn::secret: {ciphertext: C(6)}\n  c:\n    fn::secret: {ciphertext: C(6)}\n  d: plain\n"
    );
}

#[test]
fn seals_block_scalars_keeping_the_line_break() {
    let text = "values:\n  a:\n    fn::secret: |\n      line1\n      line2\n  b: 1\n";
    assert_eq!(
        seal(text),
        "values:\n  a:\n    fn::secret: {ciphertext: C(12)}\n  b: 1\n"
    );
}

#[test]
fn leaves_secrets_outside_values_and_ciphertexts_alone() {
    let text = "imports: [a]\nother:\n  fn::secret: x\nvalues:\n  s:\n    fn::secret:\n      ciphertext: abc\n  list:\n    - fn::secret: y\n";
    assert_eq!(
        seal(text),
        "imports: [a]\nother:\n  fn::secret: x\nvalues:\n  s:\n    fn::secret:\n      ciphertext: abc\n  list:\n    - fn::secret: {ciphertext: C(1)}\n"
    );
}

#[test]
fn opens_block_and_flow_ciphertexts() {
    let text = "values:\n  s:\n    fn::secret:\n      ciphertext: abc\n  t: {fn::secret: {ciphertext: \"def\" }} # keep\n  u: 2\n";
    assert_eq!(
        open(text),
        "values:\n  s:\n    fn::secret:\n      \"p<abc>\"\n  t: {fn::secret: \"p<def>\"} # keep\n  u: 2\n"
    );
}

#[test]
fn round_trip_keeps_text_identical() {
    let text = "values:\n  # a comment\n  pw: {fn::secret: \"s3cr\\\"et\"}\n  n: 1\n";
    let hex = |plain: &str| {
        plain
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let unhex = |cipher: &str| {
        let bytes: Vec<u8> = (0..cipher.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&cipher[i..i + 2], 16).unwrap())
            .collect();
        String::from_utf8(bytes).unwrap()
    };
    let sealed = seal_plaintext_secrets(text, |plain| Ok(hex(plain))).unwrap();
    assert!(!sealed.contains("s3cr"));
    let opened = open_ciphertext_secrets(&sealed, |cipher| Ok(unhex(cipher))).unwrap();
    assert_eq!(
        opened,
        "values:\n  # a comment\n  pw: {fn::secret: \"s3cr\\\"et\"}\n  n: 1\n"
    );
}

#[test]
fn revealed_text_is_escaped_for_yaml() {
    let opened = open_ciphertext_secrets("values:\n  a: {fn::secret: {ciphertext: x}}\n", |_| {
        Ok("q\"b\\n\nt\u{1}".to_owned())
    })
    .unwrap();
    assert_eq!(
        opened,
        "values:\n  a: {fn::secret: \"q\\\"b\\\\n\\nt\\u0001\"}\n"
    );
}

#[test]
fn empty_and_secretless_text_is_unchanged() {
    assert_eq!(seal(""), "");
    assert_eq!(seal("values:\n  a: 1\n"), "values:\n  a: 1\n");
}

#[test]
fn tagged_secret_is_refused_with_its_line() {
    let error = seal_plaintext_secrets("values:\n  a:\n    fn::secret: !!str x\n", |_| {
        Ok(String::new())
    })
    .unwrap_err();
    assert_eq!(error.to_string().split(':').next(), Some("line 3"));
}

#[test]
fn replacement_errors_are_located() {
    let error = seal_plaintext_secrets("values:\n  a: {fn::secret: x}\n", |_| Err("no key".into()))
        .unwrap_err();
    assert_eq!(error.to_string(), "line 2: no key");
}

#[test]
fn reseal_replaces_only_the_ciphertext() {
    let text = "values:\n  s:\n    fn::secret:\n      ciphertext: abc # c\n  t: {fn::secret: {ciphertext: def}}\n  u: {fn::secret: plain}\n";
    let resealed = reseal_ciphertexts(text, |old| Ok(old.to_uppercase())).unwrap();
    assert_eq!(
        resealed,
        "values:\n  s:\n    fn::secret:\n      ciphertext: ABC # c\n  t: {fn::secret: {ciphertext: DEF}}\n  u: {fn::secret: plain}\n"
    );
}
