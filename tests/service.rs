//! Running the server as a service, on the real `chit-server` binary: its log through a
//! pipe (no colour; JSON that parses) and on a terminal (colour unless `NO_COLOR`), the
//! systemd unit as systemd checks it, and the proxy configs the README shows.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use chit_client::Client;
use chit_e2e::{bin, order};

/// Starts `chit-server` with `flags` and `CHIT_LOG=debug` on a fresh database, stderr
/// to a pipe; returns it and its URL once a line of stderr that `listening` accepts
/// names it.
fn spawn_logging(
    dir: &Path,
    flags: &[&str],
    listening: impl Fn(&str) -> Option<String>,
) -> (std::process::Child, String, std::process::ChildStderr) {
    let mut child = Command::new(bin("chit-server"))
        .arg("--db")
        .arg(dir.join("chit.db"))
        .args(["--listen", "127.0.0.1:0"])
        .args(flags)
        .env("CHIT_LOG", "debug")
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    // Byte by byte up to the line that says where it listens, so that nothing after it
    // is held in a buffer: the rest is read whole after the server stops.
    let mut line = Vec::new();
    let url = loop {
        let mut byte = [0];
        assert_eq!(stderr.read(&mut byte).unwrap(), 1, "chit-server stopped");
        if byte[0] != b'\n' {
            line.push(byte[0]);
            continue;
        }
        let text = String::from_utf8(std::mem::take(&mut line)).unwrap();
        assert!(!text.contains('\x1b'), "an escape sequence: {text:?}");
        if let Some(url) = listening(&text) {
            break url;
        }
    };
    (child, url, stderr)
}

/// Makes the server log at several levels (a commit, a session, a bad token), then
/// stops it with SIGTERM; returns everything it wrote on stderr after it listened.
async fn exercise_and_stop(
    mut child: std::process::Child,
    url: &str,
    dir: &Path,
    mut stderr: std::process::ChildStderr,
) -> String {
    let token = std::fs::read_to_string(dir.join("admin.token")).unwrap();
    let (client, _events) = Client::connect(url, token.trim(), "test").await.unwrap();
    client.place_order(order("r1"), None).await.unwrap();
    drop(client);
    assert!(Client::connect(url, "not-a-token", "test").await.is_err());
    chit_e2e::signal(&child, libc::SIGTERM);
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    rest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_through_a_pipe_have_no_colour_and_json_lines_all_parse() {
    let dir = tempfile::tempdir().unwrap();
    let (child, url, stderr) = spawn_logging(dir.path(), &[], |line| {
        line.strip_prefix("chit-server: listening on ")
            .map(str::to_string)
    });
    let text = exercise_and_stop(child, &url, dir.path(), stderr).await;
    assert!(text.contains("DEBUG") && text.contains("INFO"), "{text}");
    assert!(text.contains("shutting down"), "{text}");
    assert!(
        !text.contains('\x1b'),
        "escape sequences in a pipe: {text:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let parse = |line: &str| -> serde_json::Value {
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
    };
    let (child, url, stderr) = spawn_logging(dir.path(), &["--log-format", "json"], |line| {
        let message = parse(line)["message"].as_str().unwrap().to_string();
        message.strip_prefix("listening on ").map(str::to_string)
    });
    let json = exercise_and_stop(child, &url, dir.path(), stderr).await;
    let lines: Vec<serde_json::Value> = json.lines().map(parse).collect();
    let levels: Vec<&str> = lines.iter().map(|l| l["level"].as_str().unwrap()).collect();
    assert!(
        levels.contains(&"DEBUG") && levels.contains(&"INFO"),
        "{json}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l["timestamp"].is_string() && l["message"].is_string())
    );
    assert!(lines.iter().any(|l| l["message"] == "stopped"), "{json}");

    // A server that cannot start says why, in JSON too (here from the environment).
    let out = Command::new(bin("chit-server"))
        .arg("--db")
        .arg(dir.path().join("chit.db"))
        .args(["--listen", "not an address"])
        .env("CHIT_LOG_FORMAT", "json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let last = parse(stderr.lines().last().unwrap());
    assert_eq!(last["level"], "ERROR");
    assert!(
        last["message"]
            .as_str()
            .unwrap()
            .contains("listening on 'not an address'"),
        "{stderr}"
    );
    assert!(stderr.lines().all(|l| !parse(l).is_null()));
}

/// On a terminal, and only there, the log has colour; `NO_COLOR` turns it off.
#[test]
fn logs_on_a_terminal_are_coloured_unless_no_color() {
    for (no_color, coloured) in [("", true), ("1", false)] {
        let dir = tempfile::tempdir().unwrap();
        let command = format!(
            "NO_COLOR={no_color} CHIT_LOG=debug '{}' --db '{}' --listen 127.0.0.1:0",
            bin("chit-server").display(),
            dir.path().join("chit.db").display()
        );
        let tmux = chit_e2e::Tmux::start(120, 30, &command);
        tmux.wait_text("listening on ws://");
        // Ctrl-C: the server logs its shutdown at INFO, then exits.
        tmux.keys(&["C-c"]);
        tmux.wait_text("stopped");
        let styled = tmux.styled_screen();
        let line = styled
            .lines()
            .find(|l| l.contains("shutting down"))
            .expect("the shutdown line");
        assert_eq!(
            line.contains('\x1b'),
            coloured,
            "NO_COLOR={no_color:?}: {line:?}"
        );
    }
}

/// The fenced block of `lang` in the README, as written.
fn readme_block(lang: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find(&format!("\n```{lang}\n"))
        .unwrap_or_else(|| panic!("a ```{lang} block in the README"))
        + lang.len()
        + 5;
    let end = start + readme[start..].find("\n```\n").unwrap();
    readme[start..=end].to_string()
}

fn contrib(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("contrib")
            .join(name),
    )
    .unwrap()
}

#[test]
fn the_readme_shows_the_proxy_configs_exactly_as_contrib_has_them() {
    assert_eq!(readme_block("nginx"), contrib("nginx-chit.conf"));
    assert_eq!(readme_block("caddy"), contrib("Caddyfile"));
}

/// systemd's own check of the unit (`systemd-analyze verify`), with the binary it
/// starts at the path this build has: unknown keys, keys in the wrong section and bad
/// values are errors.
#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let unit = contrib("chit-server.service");
    assert!(unit.contains("ExecStart=/usr/local/bin/chit-server\n"));
    let dir = tempfile::tempdir().unwrap();
    let here = bin("chit-server");
    let file = dir.path().join("chit-server.service");
    let unit = unit.replace("/usr/local/bin/chit-server", here.to_str().unwrap());
    std::fs::write(&file, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&file)
        .output()
        .expect("systemd-analyze is installed (make deps)");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}
