//! `chit chat join` as people and scripts use it: two people in tmux seeing each
//! other's messages and typing without garbling what they type, and a script piping
//! lines in and reading JSON Lines out.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chit_e2e::{TestServer, bin, next_event};
use chit_protocol::{EventKind, Role};
use serde_json::Value;
use tempfile::TempDir;

/// A private tmux server (its own socket, no user config), killed when dropped.
struct Tmux {
    socket: PathBuf,
    _dir: TempDir,
}

impl Tmux {
    fn new() -> Tmux {
        let dir = tempfile::tempdir().expect("temp dir");
        Tmux {
            socket: dir.path().join("tmux.sock"),
            _dir: dir,
        }
    }

    fn tmux(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S").arg(&self.socket).arg("-f").arg("/dev/null");
        cmd
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self
            .tmux()
            .args(args)
            .output()
            .expect("tmux is installed (make deps)");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `shell` in a new 100x30 session, with `env` set.
    fn start(&self, name: &str, env: &[(&str, &str)], shell: &str) {
        let mut args = vec!["new-session", "-d", "-x", "100", "-y", "30", "-s", name];
        let env: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        for e in &env {
            args.extend(["-e", e]);
        }
        args.push(shell);
        self.run(&args);
    }

    fn type_text(&self, name: &str, text: &str) {
        self.run(&["send-keys", "-t", name, "-l", text]);
    }

    fn press(&self, name: &str, key: &str) {
        self.run(&["send-keys", "-t", name, key]);
    }

    fn screen(&self, name: &str) -> String {
        self.run(&["capture-pane", "-p", "-t", name])
    }

    /// Polls the screen until `ok` holds, failing after 10 s with what it shows.
    async fn wait(&self, name: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let screen = self.screen(name);
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{name}'s screen never showed {what}:\n{screen}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_for(&self, name: &str, text: &str) -> String {
        self.wait(name, &format!("{text:?}"), |s| s.contains(text))
            .await
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").output();
    }
}

/// The last non-empty line on a screen: the input line.
fn input_line(screen: &str) -> &str {
    screen.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_in_tmux_see_each_others_messages_and_typing() {
    let server = TestServer::start().await;
    let (admin, _e) = server.admin().await;
    admin
        .chat_send("chat:staff", "morning all, 40 covers for lunch")
        .await
        .unwrap();
    let ann = server.labelled(Role::Kitchen, Some("r1"), "Ann");
    let bo = server.labelled(Role::Rider, Some("bo"), "bo");
    let chit = bin("chit");
    // After chit exits, say whether it left the terminal in raw mode, and stay open.
    let shell = format!(
        "{} chat join chat:staff; echo exit=$?; \
         if stty -a | grep -qw -- -icanon; then echo RAW-MODE-LEFT-ON; else echo TERMINAL-RESTORED; fi; \
         exec cat",
        chit.display()
    );
    let tmux = Tmux::new();
    tmux.start(
        "ann",
        &[("CHIT_SERVER", &server.url), ("CHIT_TOKEN", &ann)],
        &shell,
    );
    let screen = tmux.wait_for("ann", "morning all, 40 covers").await;
    assert!(screen.contains("joined chat:staff as Ann"), "{screen}");
    tmux.start(
        "bo",
        &[("CHIT_SERVER", &server.url), ("CHIT_TOKEN", &bo)],
        &shell,
    );
    tmux.wait_for("bo", "admin: morning all, 40 covers").await;
    tmux.wait_for("ann", "bo (rider) joined").await;

    // Ann starts a line; bo sees her typing.
    tmux.type_text("ann", "half-typed");
    tmux.wait_for("bo", "Ann is typing…").await;
    assert!(!tmux.screen("ann").contains("is typing"), "not to herself");

    // bo's message lands above Ann's unfinished line without disturbing it.
    tmux.type_text("bo", "on my way");
    tmux.wait_for("ann", "bo is typing…").await;
    tmux.press("bo", "Enter");
    let screen = tmux
        .wait("ann", "bo's message and no typing line", |s| {
            s.contains("bo: on my way") && !s.contains("bo is typing")
        })
        .await;
    assert_eq!(input_line(&screen), "> half-typed", "{screen}");
    let lines: Vec<&str> = screen.lines().collect();
    let message = lines.iter().position(|l| l.contains("bo: on my way"));
    let input = lines.iter().position(|l| l.starts_with("> half-typed"));
    assert!(message < input, "{screen}");

    // Erasing a started line takes the indicator away at once.
    tmux.type_text("bo", "still");
    tmux.wait_for("ann", "bo is typing…").await;
    tmux.press("bo", "C-u");
    tmux.wait("ann", "the indicator gone", |s| !s.contains("bo is typing"))
        .await;

    tmux.type_text("ann", ", done");
    tmux.press("ann", "Enter");
    tmux.wait_for("bo", "Ann: half-typed, done").await;
    tmux.type_text("bo", "/who");
    tmux.press("bo", "Enter");
    tmux.wait_for("bo", "2 in chat:staff: Ann (kitchen), bo (rider, you)")
        .await;
    tmux.type_text("bo", "/history 5");
    tmux.press("bo", "Enter");
    tmux.wait_for("bo", "no earlier messages in chat:staff")
        .await;

    tmux.type_text("ann", "/quit");
    tmux.press("ann", "Enter");
    tmux.wait_for("bo", "Ann left").await;
    let screen = tmux.wait_for("ann", "exit=").await;
    let screen = if screen.contains("RESTORED") || screen.contains("LEFT-ON") {
        screen
    } else {
        tmux.wait_for("ann", "TERMINAL-").await
    };
    assert!(screen.contains("exit=0"), "{screen}");
    assert!(screen.contains("TERMINAL-RESTORED"), "{screen}");
    let history = admin.chat_history("chat:staff", None, None).await.unwrap();
    let texts: Vec<&str> = history.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "morning all, 40 covers for lunch",
            "on my way",
            "half-typed, done"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_pipes_lines_in_and_reads_json_lines_out() {
    let server = TestServer::start().await;
    let (admin, _e) = server.admin().await;
    admin.chat_send("chat:staff", "before").await.unwrap();
    let (ann, mut ann_events) = server
        .connect(&server.labelled(Role::Kitchen, Some("r1"), "Ann"))
        .await;
    ann.subscribe("chat:staff", None).await.unwrap();
    let bot = server.labelled(Role::Rider, Some("bo"), "bot");

    let mut child = server
        .chit()
        .env("CHIT_TOKEN", &bot)
        .args(["--json", "chat", "join", "chat:staff"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run chit");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"order 17 picked up\n\n/who\n//slash\n")
        .unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let docs: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let texts: Vec<&str> = docs.iter().filter_map(|d| d["text"].as_str()).collect();
    assert_eq!(
        texts,
        ["before", "order 17 picked up", "/slash"],
        "{docs:?}"
    );
    assert_eq!(docs[0]["author"], "admin");
    let who = docs.iter().find(|d| d.get("members").is_some()).unwrap();
    assert_eq!(who["room"], "chat:staff");
    let names: Vec<&str> = who["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Ann") && names.contains(&"bot"), "{who}");

    let mut heard = Vec::new();
    while heard.len() < 2 {
        let event = next_event(&mut ann_events).await;
        if event.kind == EventKind::ChatMessage {
            let m = event.chat_message().unwrap();
            heard.push((m.author, m.text));
        }
    }
    assert_eq!(
        heard,
        [
            ("bot".to_string(), "order 17 picked up".to_string()),
            ("bot".to_string(), "/slash".to_string())
        ]
    );

    let out = server
        .chit()
        .args(["chat", "join", "restaurant:r1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a chat room"));
    let out = server
        .chit()
        .env("CHIT_TOKEN", server.token(Role::Pos, Some("r1")))
        .args(["chat", "join", "chat:staff"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("forbidden"));
}

/// Lines of a child's pipe, as they come.
fn lines_of(
    pipe: impl std::io::Read + Send + 'static,
) -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

async fn next_line(lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(15), lines.recv())
        .await
        .expect("a line within 15 s")
        .expect("the pipe is open")
}

async fn line_containing(
    lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    text: &str,
) -> String {
    loop {
        let line = next_line(lines).await;
        if line.contains(text) {
            return line;
        }
    }
}

fn text_of(line: &str) -> String {
    let doc: Value = serde_json::from_str(line).expect("a JSON line");
    doc["text"].as_str().expect("a message").to_string()
}

/// The real server stopped, and started again on the same address after others talked:
/// `chit chat join` reconnects and prints what was said meanwhile, once, then goes on
/// live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_reconnects_and_resumes_without_losing_or_repeating() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chit.db");
    let server = chit_e2e::ServerProcess::start(&db, "127.0.0.1:0");
    let addr = server.url.trim_start_matches("ws://").to_string();
    let token = server.admin_token();
    let say = |url: String, text: &'static str| {
        let token = token.clone();
        async move {
            let (c, _e) = chit_client::Client::connect(&url, &token, "test")
                .await
                .unwrap();
            c.chat_send("chat:staff", text).await.unwrap();
        }
    };
    say(server.url.clone(), "m1").await;

    let mut child = Command::new(bin("chit"))
        .args(["--json", "chat", "join", "chat:staff"])
        .env("CHIT_SERVER", &server.url)
        .env("CHIT_TOKEN", &token)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let mut out = lines_of(child.stdout.take().unwrap());
    let mut err = lines_of(child.stderr.take().unwrap());
    assert_eq!(text_of(&next_line(&mut out).await), "m1");

    assert!(server.terminate().success());
    line_containing(&mut err, "connection lost").await;
    // Said while chit cannot reach the server: through the same database on another
    // address.
    let elsewhere = chit_e2e::ServerProcess::start(&db, "127.0.0.1:0");
    say(elsewhere.url.clone(), "m2").await;
    say(elsewhere.url.clone(), "m3").await;
    assert!(elsewhere.terminate().success());
    let server = chit_e2e::ServerProcess::start(&db, &addr);
    assert_eq!(text_of(&next_line(&mut out).await), "m2");
    assert_eq!(text_of(&next_line(&mut out).await), "m3");
    line_containing(&mut err, "reconnected").await;
    say(server.url.clone(), "m4").await;
    assert_eq!(text_of(&next_line(&mut out).await), "m4");

    drop(stdin);
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    assert_eq!(out.recv().await, None, "nothing printed twice");
}
