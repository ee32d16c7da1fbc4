//! `chit bench`, the real binary, against a real server: a small run of every scenario
//! completes and reports what it measured; other machines are refused.

use chit_e2e::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_bench_run_reports_every_scenario() {
    let server = TestServer::start().await;
    let mut cmd = server.chit();
    cmd.args([
        "bench",
        "--kitchens",
        "3",
        "--clients",
        "2",
        "--in-flight",
        "4",
        "--orders",
        "300",
        "--updates",
        "30",
        "--idle",
        "50",
        "--fanout",
        "40",
        "--fanout-events",
        "3",
        "--max-secs",
        "60",
        "--json",
    ]);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chit bench failed: {stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(report["complete"], true, "{report}");

    let orders = &report["orders"];
    assert_eq!(orders["orders_acked"], 300);
    assert_eq!(orders["notify_latency"]["n"], 300);
    assert_eq!(orders["notify_expected"], 300);
    assert_eq!(orders["updates_acked"], 30);
    assert_eq!(orders["update_notify_latency"]["n"], 30);
    assert!(orders["orders_per_sec"].as_f64().unwrap() > 0.0);
    let p50 = orders["notify_latency"]["p50_ms"].as_f64().unwrap();
    let max = orders["notify_latency"]["max_ms"].as_f64().unwrap();
    assert!(p50 > 0.0 && p50 <= max, "{orders}");
    assert!(orders["server"]["cpu_secs"].as_f64().is_some());

    let idle = &report["idle"];
    assert_eq!(idle["opened"], 50);
    assert!(idle["server_connections"].as_u64().unwrap() >= 150);

    let fanout = &report["fanout"];
    assert_eq!(fanout["subscribed"], 40);
    assert_eq!(fanout["delivered"], 120);
    assert_eq!(fanout["delivery_latency"]["n"], 120);
}

#[test]
fn another_machine_is_refused_without_yes_remote() {
    let out = std::process::Command::new(chit_e2e::bin("chit"))
        .args(["--server", "ws://10.1.2.3:7787", "--token", "t", "bench"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--yes-remote"), "{stderr}");
}

/// Two nodes on one PostgreSQL database: `--spread` deals the placing clients and the
/// kitchens over `--server`'s list, `--kitchen-server` puts the kitchens on another
/// node than the placing clients; either way every order reaches its kitchens, and the
/// report has each node's own figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bench_run_spreads_over_nodes_and_reads_on_another() {
    let (_db, a, b) = chit_e2e::nodes::two_nodes().await;
    let both = format!("{},{}", a.url, b.url);
    for (label, server, flags) in [
        ("spread", both.as_str(), vec!["--spread"]),
        (
            "kitchens on B",
            a.url.as_str(),
            vec!["--kitchen-server", b.url.as_str()],
        ),
    ] {
        let mut cmd = a.chit();
        cmd.args(["--server", server, "bench"]).args(&flags).args([
            "--kitchens",
            "2",
            "--clients",
            "2",
            "--in-flight",
            "4",
            "--orders",
            "200",
            "--updates",
            "20",
            "--max-secs",
            "60",
            "--json",
        ]);
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .unwrap()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{label}: chit bench failed: {stderr}");
        let report: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("one JSON document");
        assert_eq!(report["complete"], true, "{label}: {report}");
        let orders = &report["orders"];
        assert_eq!(orders["notify_latency"]["n"], 200, "{label}");
        assert_eq!(orders["updates_acked"], 20, "{label}");
        let nodes: Vec<&str> = orders["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{label}: no figures per node: {orders}"))
            .iter()
            .map(|n| n["url"].as_str().unwrap())
            .collect();
        assert_eq!(nodes, [a.url.as_str(), b.url.as_str()], "{label}");
        // The admin connection, and a client or a kitchen, on each node.
        for node in orders["nodes"].as_array().unwrap() {
            assert!(
                node["connections"].as_u64().unwrap() >= 2,
                "{label}: {node}"
            );
        }
    }
}
