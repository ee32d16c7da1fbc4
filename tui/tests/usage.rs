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

#[test]
fn station_and_expo_flags_and_a_bad_key_map_are_refused_before_the_terminal() {
    let kitchen = env!("CARGO_BIN_EXE_chit-kitchen");
    let help = Command::new(kitchen).arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(
        help.contains("--station") && help.contains("--expo"),
        "{help}"
    );
    let both = Command::new(kitchen)
        .env("CHIT_CONFIG", "")
        .args(["--restaurant", "r1", "--station", "grill", "--expo"])
        .output()
        .unwrap();
    assert_eq!(both.status.code(), Some(2), "one screen at a time");
    let bad = Command::new(kitchen)
        .env("CHIT_CONFIG", "")
        .args(["--restaurant", "r1", "--station", "grill bar"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("'grill bar' is not a valid station"));

    let dir = std::env::temp_dir().join(format!("chit-usage-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.toml");
    for (text, says) in [
        (
            "[chit-kitchen]\nrestaurant = \"r1\"\n\n[chit-kitchen.keys]\nbmup = \"0\"\n",
            "line 5, key 'bmup': not an action of this display",
        ),
        (
            "[chit-kitchen.keys]\nrecall = \"Space\"\n",
            "Space is both bump's and recall's key",
        ),
        ("[keys]\nclaim = \"Entr\"\n", "'Entr' is not a key"),
    ] {
        std::fs::write(&file, text).unwrap();
        let out = Command::new(kitchen)
            .env("CHIT_CONFIG", &file)
            .args(["--restaurant", "r1"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {stderr}");
        assert!(stderr.contains(says), "{text}: {stderr}");
        assert!(stderr.contains(&file.display().to_string()), "{stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
