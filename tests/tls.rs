//! wss:// for real: a certificate authority made in the test, nginx terminating TLS in
//! front of the server, and the real `chit`, `chit watch` and `chit-kitchen` (in tmux)
//! trusting it with `--ca-file` — and refusing, with exit 3 and a sentence saying what
//! was wrong, without it, for a certificate with the wrong name, and for an expired one.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use chit_e2e::tls::{Ca, Leaf, Nginx};
use chit_e2e::{TestServer, Tmux, bin};

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run chit")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn place(name: &str) -> Vec<&str> {
    vec![
        "order",
        "place",
        "--restaurant",
        "r1",
        "--name",
        name,
        "--phone",
        "0812345678",
        "--pickup",
        "--item",
        "Pad Thai @ 120",
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_and_chit_watch_trust_a_private_ca_only_when_given_it() {
    let server = TestServer::start().await;
    let ca = Ca::new();
    let nginx = Nginx::start(&ca, Leaf::Good, server.addr);
    let ca_file = ca.write(server.dir());
    let ca_file = ca_file.to_str().unwrap();

    // chit watch over wss://, then an order placed over wss:// reaches it.
    let mut watch = server
        .chit()
        .args(["watch", "restaurant:r1"])
        .args(["--server", &nginx.url, "--ca-file", ca_file])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = BufReader::new(watch.stderr.take().unwrap()).lines();
    let first = said.next().unwrap().unwrap();
    assert!(first.contains("watching restaurant:r1"), "{first}");
    let out =
        run(server
            .chit()
            .args(place("Ann"))
            .args(["--server", &nginx.url, "--ca-file", ca_file]));
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = BufReader::new(watch.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .find(|line| line.contains("\"kind\":\"new_order\""))
        .expect("the new order, over wss://");
    assert!(printed.contains("\"Ann\""), "{printed}");
    watch.kill().unwrap();
    watch.wait().unwrap();

    // The same with the CA file named in the config file.
    let config = server.dir().join("chit");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!("server = \"{}\"\nca_file = \"../ca.pem\"\n", nginx.url),
    )
    .unwrap();
    let out = run(server
        .chit()
        .env_remove("CHIT_SERVER")
        .args(["stats", "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::remove_file(config.join("config.toml")).unwrap();

    // Without the CA: exit 3, and why.
    for args in [&["stats"][..], &["watch", "restaurant:r1"]] {
        let out = run(server.chit().args(args).args(["--server", &nginx.url]));
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", stderr(&out));
        let said = stderr(&out);
        assert!(said.contains("unknown issuer"), "{said}");
        assert!(said.contains("--ca-file"), "{said}");
        assert!(said.contains(&nginx.url), "{said}");
    }
    // A plain ws:// client at a TLS port is told what it met.
    let plain = nginx.url.replace("wss://", "ws://");
    let out = run(server.chit().args(["stats", "--server", &plain]));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is it a wss:// server?"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_name_or_an_expired_certificate_is_exit_3_saying_so() {
    let server = TestServer::start().await;
    let ca = Ca::new();
    let ca_file = ca.write(server.dir());
    let cases = [
        (Leaf::WrongName, ["name mismatch", "chit.test"]),
        (Leaf::Expired, ["expired", "2021-01-01"]),
    ];
    for (leaf, says) in cases {
        let nginx = Nginx::start(&ca, leaf, server.addr);
        for args in [&["order", "list"][..], &["watch", "restaurant:r1"]] {
            let out = run(server
                .chit()
                .args(args)
                .args(["--server", &nginx.url])
                .arg("--ca-file")
                .arg(&ca_file));
            assert_eq!(
                out.status.code(),
                Some(3),
                "{leaf:?} {args:?}: {}",
                stderr(&out)
            );
            let said = stderr(&out);
            for word in says {
                assert!(said.contains(word), "{leaf:?}: {said}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kitchen_display_runs_over_wss_and_exits_3_on_an_untrusted_certificate() {
    let server = TestServer::start().await;
    let ca = Ca::new();
    let nginx = Nginx::start(&ca, Leaf::Good, server.addr);
    let ca_file = ca.write(server.dir());
    let kitchen = |ca: &str| {
        format!(
            "XDG_CONFIG_HOME={dir} CHIT_TOKEN={token} {bin} --restaurant r1 --bell --server {url} {ca} --log {dir}/kitchen.log; echo \"exit=$?\"",
            dir = server.dir().display(),
            token = server.admin,
            bin = bin("chit-kitchen").display(),
            url = nginx.url,
        )
    };
    let trusted = Tmux::start(
        100,
        30,
        &kitchen(&format!("--ca-file {}", ca_file.display())),
    );
    trusted.wait_text("● online");
    let out = run(server.chit().args(place("Bea")));
    assert!(out.status.success(), "{}", stderr(&out));
    trusted.wait_text("Bea");

    let untrusted = Tmux::start(100, 30, &kitchen(""));
    let screen = untrusted.wait_text("exit=3");
    assert!(screen.contains("unknown issuer"), "{screen}");
    assert!(screen.contains("--ca-file"), "{screen}");
}
