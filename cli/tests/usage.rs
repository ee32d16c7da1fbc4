//! The binary's own usage: help, version, completions, and refusing bad arguments with
//! exit code 2 before touching the network.

use std::process::Command;

fn chit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_chit"))
        .args(args)
        .env("CHIT_SERVER", "ws://127.0.0.1:9")
        .output()
        .expect("run chit")
}

#[test]
fn help_lists_every_command() {
    let out = chit(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for cmd in ["order", "watch", "chat", "stats", "bench", "completions"] {
        assert!(help.contains(cmd), "{cmd} missing from help");
    }
}

#[test]
fn completions_are_printed_for_bash() {
    let out = chit(&["completions", "bash"]);
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().contains("_chit"));
}

#[test]
fn bad_arguments_exit_2() {
    for args in [
        &["order", "place", "--restaurant", "r1"][..],
        &["order", "status", "x", "ready"],
        &[
            "order",
            "place",
            "--restaurant",
            "r1",
            "--name",
            "A",
            "--phone",
            "1",
            "--item",
            "2 x Soup @ free",
        ],
        &["no-such-command"],
    ] {
        assert_eq!(chit(args).status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn an_unreachable_server_exits_3() {
    let out = chit(&["order", "list", "--token", "chit_x"]);
    assert_eq!(out.status.code(), Some(3));
}
