//! The display binaries' own usage: help, and refusing bad arguments with exit code 2
//! before touching the terminal.

use std::process::Command;

#[test]
fn the_kitchen_display_explains_itself_and_refuses_bad_flags() {
    let kitchen = env!("CARGO_BIN_EXE_chit-kitchen");
    let out = Command::new(kitchen).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--restaurant",
        "--server",
        "--token",
        "--mute",
        "--bell",
        "--late-after",
    ] {
        assert!(help.contains(flag), "{flag} in help");
    }
    let missing = Command::new(kitchen).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let bad = Command::new(kitchen)
        .args(["--restaurant", "r 1"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let bad = Command::new(kitchen)
        .args(["--restaurant", "r1", "--late-after", "soon"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn the_rider_console_explains_itself_and_refuses_bad_flags() {
    let rider = env!("CARGO_BIN_EXE_chit-rider");
    let out = Command::new(rider).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--rider", "--server", "--token", "--mute", "--bell", "--log",
    ] {
        assert!(help.contains(flag), "{flag} in help");
    }
    let missing = Command::new(rider)
        .env_remove("CHIT_RIDER")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let bad = Command::new(rider)
        .args(["--rider", "bo:1"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("'bo:1' is not a valid name"));
}
