//! The config file, through the four real binaries: a precedence table (flag over
//! environment over file over default, a binary's section over the top level) read
//! back with `--show-config`; a bad file is exit 2 naming the file, line and key; and
//! `--token-file` (or `token_file` in the file, or `CHIT_TOKEN_FILE`) weighed against
//! `CHIT_TOKEN` as every setting is.

use std::path::Path;
use std::process::{Command, Output};

use chit_e2e::{TestServer, bin};

/// Runs `binary` with only the environment given (and the config file in `home`).
fn run(binary: &str, home: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(bin(binary));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .envs(env.iter().copied())
        .args(args);
    cmd.output().expect("run the binary")
}

fn write_config(home: &Path, text: Option<&str>) -> std::path::PathBuf {
    let dir = home.join("config").join("chit");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.toml");
    match text {
        Some(text) => std::fs::write(&file, text).unwrap(),
        None => {
            let _ = std::fs::remove_file(&file);
        }
    }
    file
}

/// `key = value  # source` from `--show-config`, as (value, source).
fn shown(out: &Output, key: &str) -> (String, String) {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| {
            panic!(
                "no {key} in:\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let (value, source) = line[key.len() + 3..].split_once("  # ").expect("a source");
    (value.trim_matches('"').to_string(), source.to_string())
}

#[test]
fn a_flag_beats_the_environment_beats_the_file_beats_the_default_in_every_binary() {
    let home = tempfile::tempdir().unwrap();
    // (binary, key, its flag, its variable if it has one, the default)
    let settings = [
        (
            "chit",
            "server",
            "--server",
            Some("CHIT_SERVER"),
            "ws://127.0.0.1:7787",
        ),
        (
            "chit-kitchen",
            "server",
            "--server",
            Some("CHIT_SERVER"),
            "ws://127.0.0.1:7787",
        ),
        (
            "chit-kitchen",
            "restaurant",
            "--restaurant",
            Some("CHIT_RESTAURANT"),
            "",
        ),
        ("chit-kitchen", "warn_after", "--warn-after", None, "5m"),
        ("chit-rider", "rider", "--rider", Some("CHIT_RIDER"), ""),
        (
            "chit-server",
            "listen",
            "--listen",
            Some("CHIT_LISTEN"),
            "127.0.0.1:7787",
        ),
        (
            "chit-server",
            "heartbeat",
            "--heartbeat",
            Some("CHIT_HEARTBEAT"),
            "30",
        ),
    ];
    for (binary, key, flag, var, default) in settings {
        let value = |n: u32| match key {
            "server" => format!("ws://127.0.0.1:{n}"),
            "listen" => format!("127.0.0.1:{n}"),
            "warn_after" => format!("{n}m"),
            "rider" | "restaurant" => format!("r{n}"),
            _ => n.to_string(),
        };
        let top = format!("{key} = \"{}\"\n", value(1));
        let sectioned = format!(
            "{key} = \"{}\"\n[{binary}]\n{key} = \"{}\"\n",
            value(1),
            value(2)
        );
        // (file, environment?, flag?, the value that wins, where it came from)
        let rows: [(Option<&str>, bool, bool, String, &str); 6] = [
            (None, false, false, default.to_string(), "default"),
            (Some(&top), false, false, value(1), "config.toml:1"),
            (Some(&sectioned), false, false, value(2), "config.toml:3"),
            (
                Some(&sectioned),
                true,
                false,
                value(3),
                var.unwrap_or_default(),
            ),
            (Some(&sectioned), true, true, value(4), "flag"),
            (Some(&sectioned), false, true, value(4), "flag"),
        ];
        for (file, env, given, wins, source) in rows {
            // A setting with no variable has no environment rows.
            if env && var.is_none() {
                continue;
            }
            let var = var.unwrap_or_default();
            write_config(home.path(), file);
            let env_value = value(3);
            let flag_value = value(4);
            let env: Vec<(&str, &str)> = if env {
                vec![(var, env_value.as_str())]
            } else {
                vec![]
            };
            let mut args = vec!["--show-config"];
            if given {
                args.extend([flag, flag_value.as_str()]);
            }
            let out = run(binary, home.path(), &env, &args);
            assert!(
                out.status.success(),
                "{binary} {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            if wins.is_empty() {
                let text = String::from_utf8_lossy(&out.stdout);
                assert!(text.contains(&format!("# {key} is not set")), "{text}");
                continue;
            }
            let (got, from) = shown(&out, key);
            assert_eq!(
                got, wins,
                "{binary} {key}: file {file:?}, env {env:?}, flag {given}"
            );
            assert!(
                from.contains(source),
                "{binary} {key}: {from} is not {source}"
            );
        }
    }
}

#[test]
fn a_bad_config_file_is_exit_2_naming_the_file_line_and_key() {
    let home = tempfile::tempdir().unwrap();
    let cases = [
        (
            "chit",
            "server = \"ws://127.0.0.1:1\"\nsevrer = \"x\"\n",
            "line 2, key 'sevrer'",
        ),
        (
            "chit-kitchen",
            "[chit-kitchen]\nrestaurant = \"r1\"\nwarn_after = \"soon\"\n",
            "line 3, key 'warn_after'",
        ),
        (
            "chit-rider",
            "[chit-rider]\nmute = \"yes\"\n",
            "line 2, key 'mute'",
        ),
        (
            "chit-server",
            "[chit-server]\nheartbeat = 0\n",
            "line 2, key 'heartbeat'",
        ),
        ("chit-server", "listen = \n", "line 1"),
    ];
    for (binary, text, says) in cases {
        let file = write_config(home.path(), Some(text));
        let out = run(binary, home.path(), &[], &["--show-config"]);
        assert_eq!(out.status.code(), Some(2), "{binary}: {text:?}");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains(&format!("config file '{}'", file.display())),
            "{said}"
        );
        assert!(said.contains(says), "{binary}: {said}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_file_is_weighed_like_any_setting() {
    let server = TestServer::start().await;
    let home = server.dir();
    let good = home.join("admin.token.copy");
    std::fs::write(&good, format!("{}\n", server.admin)).unwrap();
    let good = good.to_str().unwrap();
    let bad = "chit_0000000000000000000000000000000000000000000000000";
    let url = server.url.as_str();
    // (config file, environment, flags, exit code)
    type Row<'a> = (Option<String>, Vec<(&'a str, &'a str)>, Vec<&'a str>, i32);
    let rows: [Row; 6] = [
        (None, vec![("CHIT_TOKEN_FILE", good)], vec![], 0),
        (
            None,
            vec![("CHIT_TOKEN", bad)],
            vec!["--token-file", good],
            0,
        ),
        (
            None,
            vec![("CHIT_TOKEN_FILE", good)],
            vec!["--token", bad],
            3,
        ),
        (
            Some(format!("token_file = \"{good}\"\n")),
            vec![],
            vec![],
            0,
        ),
        (
            Some(format!("token_file = \"{good}\"\n")),
            vec![("CHIT_TOKEN", bad)],
            vec![],
            3,
        ),
        (None, vec![], vec!["--token", bad, "--token-file", good], 3),
    ];
    for (file, env, flags, code) in rows {
        write_config(home, file.as_deref());
        let mut env = env.clone();
        env.push(("CHIT_SERVER", url));
        let mut args = vec!["stats"];
        args.extend(flags.iter().copied());
        let out = run("chit", home, &env, &args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{file:?} {env:?} {flags:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = run(
        "chit",
        home,
        &[("CHIT_SERVER", url)],
        &["stats", "--token", bad, "--token-file", good],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("both --token and --token-file"));
}
