//! Tests of in-place re-sealing: only ciphertexts under `values` change.
#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn reseal_replaces_only_the_ciphertext() {
    let text = "values:\n  s:\n    fn::secret:\n      ciphertext: abc # c\n  t: {fn::secret: {ciphertext: def}}\n  u: {fn::secret: plain}\n  l:\n    - fn::secret: {ciphertext: \"ghi\"}\nother:\n  fn::secret: {ciphertext: zzz}\n";
    let resealed = reseal_ciphertexts(text, |old| Ok(old.to_uppercase())).unwrap();
    assert_eq!(
        resealed,
        "values:\n  s:\n    fn::secret:\n      ciphertext: ABC # c\n  t: {fn::secret: {ciphertext: DEF}}\n  u: {fn::secret: plain}\n  l:\n    - fn::secret: {ciphertext: GHI}\nother:\n  fn::secret: {ciphertext: zzz}\n"
    );
}

#[test]
fn empty_and_secretless_text_is_unchanged() {
    assert_eq!(reseal_ciphertexts("", |_| Ok(String::new())).unwrap(), "");
    let text = "values:\n  a: 1\n";
    assert_eq!(
        reseal_ciphertexts(text, |_| Ok(String::new())).unwrap(),
        text
    );
}

#[test]
fn failures_are_located_and_malformed_yaml_is_refused() {
    let error = reseal_ciphertexts("values:\n  a: {fn::secret: {ciphertext: x}}\n", |_| {
        Err("wrong key".into())
    })
    .unwrap_err();
    assert_eq!(error.to_string(), "line 2: wrong key");
    assert!(reseal_ciphertexts("values: [\n", |_| Ok(String::new())).is_err());
}
