//! `arbiter token`: a token is printed once, stored only as its hash, audited, and revocable.

use std::process::{Command, Output};

fn arbiter(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arbiter"))
        .args(args)
        .output()
        .expect("the binary runs")
}

#[test]
fn a_created_token_is_printed_once_stored_hashed_audited_and_revocable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("arbiter.db").display().to_string();
    let out = arbiter(&[
        "token", "create", "--role", "analyst", "--name", "ann", "--db", &db,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("arb_") && token.len() == 68, "{token}");

    let conn = rusqlite::Connection::open(&db).unwrap();
    let (name, role, hash): (String, String, String) = conn
        .query_row("SELECT name, role, sha256 FROM tokens", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!((name.as_str(), role.as_str()), ("ann", "analyst"));
    assert_ne!(hash, token);
    let db_bytes = std::fs::read(&db).unwrap();
    let wal = std::fs::read(format!("{db}-wal")).unwrap_or_default();
    let needle = token.as_bytes();
    for bytes in [&db_bytes, &wal] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "the secret is on disk"
        );
    }

    let audit = dir.path().join("audit").display().to_string();
    let q = arbiter(&["audit", "--audit", &audit, "query", "--entity", "token:ann"]);
    let q = String::from_utf8_lossy(&q.stdout).into_owned();
    assert!(
        q.contains("created token ann for ann (role analyst)"),
        "{q}"
    );

    let list = arbiter(&["token", "list", "--db", &db]);
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(list.contains("ann") && !list.contains(&token), "{list}");
    let revoke = arbiter(&["token", "revoke", "1", "--db", &db]);
    assert!(revoke.status.success());
    let again = arbiter(&["token", "revoke", "1", "--db", &db]);
    assert!(!again.status.success(), "revoking twice is an error");
}

#[test]
fn an_unknown_role_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("arbiter.db").display().to_string();
    let out = arbiter(&[
        "token", "create", "--role", "root", "--name", "x", "--db", &db,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"root\"") && err.contains("analyst"), "{err}");
}
