//! SIGTERM (a `systemctl stop`) and SIGHUP (a closed SSH session) to a display in a
//! real terminal: it leaves as on `q`, and the terminal is usable afterwards — the
//! normal screen back, the cursor shown, and a line typed at the shell echoed and read.

use chit_e2e::{TestServer, Tmux, bin, signal_pid, wait_until};

/// The one child of the shell running in the pane: the display.
fn display_pid(term: &Tmux) -> u32 {
    let shell = term.format("#{pane_pid}");
    wait_until("the display's pid", || {
        let children =
            std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).ok()?;
        children.split_whitespace().next()?.parse().ok()
    })
    .expect("the display runs under the pane's shell")
}

fn leaves_the_terminal_usable(display: &str, args: &str, signal: libc::c_int, server: &TestServer) {
    let command = format!(
        "XDG_CONFIG_HOME={dir} CHIT_SERVER={url} CHIT_TOKEN={token} {bin} {args} --bell --log {dir}/{display}.log; \
         echo \"exit=$?\"; stty -a | grep -o -- '-*icanon'; read line; echo \"got:$line\"; sleep 600",
        dir = server.dir().display(),
        url = server.url,
        token = server.admin,
        bin = bin(display).display(),
    );
    let term = Tmux::start(100, 30, &command);
    term.wait_text("● online");
    assert_eq!(
        term.format("#{alternate_on}"),
        "1",
        "the display has the screen"
    );
    signal_pid(display_pid(&term), signal);
    let screen = term.wait_for("the shell's stty line after the display", |s| {
        s.contains("exit=0") && s.lines().any(|l| l.trim().ends_with("icanon"))
    });
    assert_eq!(
        term.format("#{alternate_on}"),
        "0",
        "{display}: the normal screen is back"
    );
    assert_eq!(
        term.format("#{cursor_flag}"),
        "1",
        "{display}: the cursor shows"
    );
    assert!(
        screen.lines().any(|l| l.trim() == "icanon"),
        "{display}: the terminal is in line mode again:\n{screen}"
    );
    term.keys(&["hello", "Enter"]);
    let screen = term.wait_text("got:hello");
    assert!(
        screen.contains("hello\n"),
        "{display}: typing echoes:\n{screen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_to_the_kitchen_display_puts_the_terminal_back() {
    let server = TestServer::start().await;
    leaves_the_terminal_usable("chit-kitchen", "--restaurant r1", libc::SIGTERM, &server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_and_sigterm_to_the_rider_console_put_the_terminal_back() {
    let server = TestServer::start().await;
    leaves_the_terminal_usable("chit-rider", "--rider bo", libc::SIGHUP, &server);
    leaves_the_terminal_usable("chit-rider", "--rider bo", libc::SIGTERM, &server);
}
