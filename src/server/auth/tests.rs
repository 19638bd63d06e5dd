use super::*;

#[test]
fn totp_matches_rfc_6238_sha1_vector() {
    // RFC 6238 appendix B: the ASCII secret "12345678901234567890", T = 59 s -> 94287082
    // (8 digits); the 6-digit code is its last six digits.
    let b32 = match Secret::Raw(b"12345678901234567890".to_vec()).to_encoded() {
        Secret::Encoded(s) => s,
        Secret::Raw(_) => unreachable!(),
    };
    assert_eq!(totp_code(&b32, 59).as_deref(), Some("287082"));
}

#[test]
fn a_token_and_its_hash_never_print_by_debug() {
    let session = Session {
        username: "doc".into(),
        name: "Doc".into(),
        role: Role::Physician,
        practitioner: None,
        token_hash: "hash-of-the-token".into(),
        expires_ms: 0,
        may_write: true,
    };
    let issued = Issued {
        token: "the-bearer-token".into(),
        expires_in: 60,
        session,
    };
    let printed = format!("{issued:?}");
    assert!(!printed.contains("the-bearer-token") && !printed.contains("hash-of"));
    assert!(printed.contains("doc"));
}

#[test]
fn usernames_are_checked() {
    assert!(check_username("jdoe").is_ok());
    assert!(check_username("j.doe-2").is_ok());
    assert!(check_username("").is_err());
    assert!(check_username("J Doe").is_err());
}
