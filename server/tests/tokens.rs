//! `chit-server token …` on a database file: issue prints the token alone on stdout,
//! list never shows secrets, revoke marks it revoked.

use std::process::Command;

fn server(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_chit-server"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("run chit-server")
}

#[test]
fn issue_list_and_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chit.db");
    let out = server(
        &db,
        &[
            "token",
            "issue",
            "--role",
            "kitchen",
            "--restaurant",
            "r2",
            "--label",
            "pass",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    assert!(
        token.trim().starts_with("chit_") && token.lines().count() == 1,
        "{token:?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("kitchen restaurant=r2"));

    let list = String::from_utf8(server(&db, &["token", "list"]).stdout).unwrap();
    assert!(
        list.contains("kitchen restaurant=r2 label=pass") && list.contains("live"),
        "{list}"
    );
    assert!(!list.contains(token.trim()), "secrets are never listed");
    let id = list.split_whitespace().next().unwrap();
    assert!(server(&db, &["token", "revoke", id]).status.success());
    assert!(
        String::from_utf8(server(&db, &["token", "list"]).stdout)
            .unwrap()
            .contains("revoked")
    );
    assert!(
        !server(&db, &["token", "revoke", id]).status.success(),
        "twice is an error"
    );
}

#[test]
fn scoped_roles_need_their_scope() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chit.db");
    let out = server(&db, &["token", "issue", "--role", "rider"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --rider"));
    let out = server(&db, &["token", "issue", "--role", "chef"]);
    assert_eq!(out.status.code(), Some(2));
}
