//! Man pages and completions from all four binaries, made from the command lines they
//! parse: a page per command, completions that offer statuses and roles, and `--help`
//! that lists them.

use std::process::{Command, Output};

use chit_e2e::bin;

fn run(binary: &str, args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(bin(binary))
        .args(args)
        .env("XDG_CONFIG_HOME", home.path())
        .env_remove("CHIT_CONFIG")
        .output()
        .expect("run the binary")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const BINARIES: [&str; 4] = ["chit", "chit-kitchen", "chit-rider", "chit-server"];

#[test]
fn every_binary_prints_its_man_page_and_writes_one_per_command() {
    for binary in BINARIES {
        let page = stdout(&run(binary, &["man"]));
        assert!(
            page.contains(&format!(".TH {binary} 1")),
            "{binary}: {page:.200}"
        );
        assert!(
            page.contains("config.toml"),
            "{binary}: the page tells of the config file"
        );
        assert!(page.contains("show\\-config"), "{binary}");
        let dir = tempfile::tempdir().unwrap();
        let listed = stdout(&run(binary, &["man", dir.path().to_str().unwrap()]));
        let main = dir.path().join(format!("{binary}.1"));
        assert!(main.is_file(), "{binary}: {listed}");
        assert!(listed.contains(main.to_str().unwrap()));
    }
    let dir = tempfile::tempdir().unwrap();
    run("chit", &["man", dir.path().to_str().unwrap()]);
    for page in [
        "chit-order-place.1",
        "chit-order-status.1",
        "chit-watch.1",
        "chit-chat-join.1",
    ] {
        assert!(dir.path().join(page).is_file(), "{page}");
    }
    run("chit-server", &["man", dir.path().to_str().unwrap()]);
    assert!(dir.path().join("chit-server-token-issue.1").is_file());
    assert!(dir.path().join("chit-server-migrate.1").is_file());
}

#[test]
fn completions_offer_statuses_roles_and_files() {
    for binary in BINARIES {
        for shell in ["bash", "zsh", "fish"] {
            let script = stdout(&run(binary, &["completions", shell]));
            assert!(script.contains("show-config"), "{binary} {shell}");
        }
    }
    let chit = stdout(&run("chit", &["completions", "zsh"]));
    assert!(
        chit.contains("pending") && chit.contains("picked_up"),
        "statuses"
    );
    assert!(
        chit.contains("--token-file") && chit.contains("_files"),
        "a file for --token-file"
    );
    let server = stdout(&run("chit-server", &["completions", "fish"]));
    for role in ["admin", "kitchen", "rider", "pos", "customer"] {
        assert!(server.contains(role), "{role}");
    }
    let kitchen = stdout(&run("chit-kitchen", &["completions", "bash"]));
    assert!(kitchen.contains("--ca-file"), "{kitchen:.300}");
}

#[test]
fn help_lists_statuses_and_roles() {
    let help = stdout(&run("chit", &["order", "status", "--help"]));
    assert!(
        help.contains(
            "pending, confirmed, preparing, ready, picked_up, delivered, rejected, cancelled"
        ),
        "{help}"
    );
    let help = stdout(&run("chit", &["order", "list", "--help"]));
    assert!(help.contains("picked_up"), "{help}");
    let help = stdout(&run("chit-server", &["token", "issue", "--help"]));
    assert!(
        help.contains("admin, kitchen, rider, pos, customer"),
        "{help}"
    );
    // A status that is not one is refused before anything is sent.
    let out = run("chit", &["order", "status", "1", "teleported"]);
    assert_eq!(out.status.code(), Some(2));
}
