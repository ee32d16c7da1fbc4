//! Flags over the file over defaults, a bad file named by line and key, and keys meant
//! for other binaries passed over. (The environment's place is shown with the real
//! binaries in tests/config.rs: changing this process's environment is not safe.)

use super::*;

/// A display-like command line.
#[derive(Parser, Debug)]
#[command(name = "chit-kitchen")]
struct Args {
    #[arg(long)]
    restaurant: String,
    #[arg(long, default_value = "ws://127.0.0.1:7787")]
    server: String,
    #[arg(long, hide_env_values = true)]
    token: Option<String>,
    #[arg(long, value_hint = ValueHint::FilePath)]
    token_file: Option<PathBuf>,
    #[arg(long)]
    mute: bool,
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    heartbeat: u64,
}

fn parse_with(file: Option<&str>, args: &[&str]) -> Result<Parsed<Args>, Error> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    if let Some(text) = file {
        std::fs::write(&path, text).unwrap();
    }
    let argv = std::iter::once("chit-kitchen").chain(args.iter().copied());
    try_parse_from::<Args>(
        Binary::Kitchen,
        argv,
        file.map(|_| path.as_path()),
        &["keys"],
    )
}

fn run(file: Option<&str>, args: &[&str]) -> (Args, Settings) {
    match parse_with(file, args).unwrap() {
        Parsed::Run(args, settings) => (args, settings),
        other => panic!("not asked for {other:?}"),
    }
}

#[test]
fn precedence_flag_then_file_then_default() {
    let file = "server = \"ws://127.0.0.1:3\"\nheartbeat = 5\n[chit-kitchen]\nrestaurant = \"r1\"\nserver = \"ws://127.0.0.1:4\"\n";
    // (file?, flags, expected server, where it came from)
    let table: [(Option<&str>, &[&str], &str, u8); 4] = [
        (None, &["--restaurant", "r1"], "ws://127.0.0.1:7787", 0),
        (Some(file), &[], "ws://127.0.0.1:4", 1),
        (
            Some("server = \"ws://127.0.0.1:3\"\nrestaurant = \"r1\"\n"),
            &[],
            "ws://127.0.0.1:3",
            1,
        ),
        (
            Some(file),
            &["--server", "ws://127.0.0.1:1"],
            "ws://127.0.0.1:1",
            3,
        ),
    ];
    for (file, flags, server, rank) in table {
        let (args, settings) = run(file, flags);
        assert_eq!(args.server, server, "{file:?} {flags:?}");
        assert_eq!(args.restaurant, "r1");
        assert_eq!(settings.source("server").rank(), rank, "{file:?} {flags:?}");
    }
    let (args, settings) = run(Some(file), &[]);
    assert_eq!(args.heartbeat, 5);
    assert!(
        matches!(settings.source("heartbeat"), Source::File { line: 2, .. }),
        "{:?}",
        settings.source("heartbeat")
    );
    assert!(matches!(
        settings.source("restaurant"),
        Source::File { line: 4, .. }
    ));
    assert_eq!(settings.source("mute"), Source::Default);
}

#[test]
fn switches_take_booleans_and_paths_are_taken_from_the_file() {
    let (args, settings) = run(
        Some("restaurant = \"r1\"\nmute = true\ntoken_file = \"kitchen.token\"\n"),
        &[],
    );
    assert!(args.mute);
    let file = settings.file().unwrap().to_path_buf();
    assert_eq!(
        args.token_file.unwrap(),
        file.parent().unwrap().join("kitchen.token")
    );
}

#[test]
fn a_bad_value_names_the_file_line_and_key() {
    let cases = [
        (
            "restaurant = \"r1\"\nheartbeat = 0\n",
            2,
            "heartbeat",
            "not a value --heartbeat takes",
        ),
        (
            "restaurant = \"r1\"\nmute = \"yes\"\n",
            2,
            "mute",
            "true or false",
        ),
        (
            "restaurant = \"r1\"\nserver = true\n",
            2,
            "server",
            "takes a value",
        ),
        (
            "restaurant = \"r1\"\nsevrer = \"ws://x\"\n",
            2,
            "sevrer",
            "no chit program",
        ),
        (
            "[chit-kitchen]\nrider = \"bo\"\n",
            2,
            "rider",
            "chit-kitchen has no --rider flag",
        ),
    ];
    for (text, line, key, says) in cases {
        let Err(Error::File(e)) = parse_with(Some(text), &[]) else {
            panic!("{text:?} was accepted");
        };
        assert_eq!(e.line, Some(line), "{e}");
        assert_eq!(e.key.as_deref(), Some(key), "{e}");
        assert!(e.to_string().contains(says), "{text:?}: {e}");
        assert!(e.to_string().contains("config.toml"), "{e}");
    }
}

#[test]
fn keys_of_other_binaries_are_passed_over() {
    let (args, _) = run(
        Some(
            "restaurant = \"r1\"\nrider = \"bo\"\nlisten = \"127.0.0.1:1\"\n[chit-server]\ndb = \"/x\"\n[chit-rider]\nrider = \"bo\"\n[keys]\nbump = \"b\"\n",
        ),
        &[],
    );
    assert_eq!(args.restaurant, "r1");
}

#[test]
fn show_config_says_where_each_value_came_from() {
    let Parsed::ShowConfig(text) = parse_with(
        Some("[chit-kitchen]\nrestaurant = \"r1\"\ntoken = \"chit_secret\"\n"),
        &["--server", "ws://127.0.0.1:1", "--show-config"],
    )
    .unwrap() else {
        panic!("not shown");
    };
    assert!(
        text.contains("server = \"ws://127.0.0.1:1\"  # flag"),
        "{text}"
    );
    assert!(text.contains("restaurant = \"r1\"  # "), "{text}");
    assert!(text.contains("config.toml:2"), "{text}");
    assert!(text.contains("heartbeat = \"30\"  # default"), "{text}");
    assert!(text.contains("# token is set, not shown"), "{text}");
    assert!(!text.contains("chit_secret"), "{text}");
    assert!(text.contains("# token_file is not set"), "{text}");
    // Even without the required --restaurant, the settings can be looked at.
    assert!(matches!(
        parse_with(None, &["--show-config"]).unwrap(),
        Parsed::ShowConfig(_)
    ));
}
