//! `chit bench`: the project's load generator, like redis-benchmark or pgbench. It runs
//! against a running server (loopback only unless `--yes-remote`): the orders scenario,
//! then, if asked, idle connections and fan-out. Every loop is bounded in count and by
//! `--max-secs`. With a cluster, the orders scenario can place on some nodes and read
//! on others (`--kitchen-server`, `--spread`).

mod conn;
mod fanout;
mod figures;
mod idle;
mod nodes;
mod orders;

use clap::Args;
use serde::Serialize;
use tokio::time::{Duration, Instant};

use self::conn::Conn;
use self::figures::mib;
use self::nodes::Nodes;
use crate::{Failure, Global, Outcome};

#[derive(Args)]
pub struct BenchArgs {
    /// Kitchen connections, each subscribed to one restaurant's room.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    kitchens: u32,
    /// Restaurants the orders are spread over [default: one per kitchen]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    restaurants: Option<u32>,
    /// Connections placing orders, each watching its customer room.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    clients: u32,
    /// Orders (and status updates) each connection keeps un-acknowledged at most.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=256))]
    in_flight: u32,
    /// Orders to place [default: 20000, or none when only --idle or --fanout is given]
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=10_000_000))]
    orders: Option<u32>,
    /// Status updates the kitchens make after the orders are in.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(0..=10_000_000))]
    updates: u32,
    /// Idle connections to open and hold, to measure the server's memory per connection.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    idle: u32,
    /// Subscribers of one room, to time one event reaching all of them.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    fanout: u32,
    /// Events timed in the fan-out scenario.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    fanout_events: u32,
    /// Stop every scenario after this many seconds in all.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=3600))]
    max_secs: u64,
    /// Allow a server that is not on this machine.
    #[arg(long)]
    yes_remote: bool,
    /// Kitchens connect to this server (or list) while placing clients use --server: a
    /// cluster's cross-node notify latency, placed on one node and read on another
    /// [default: --server]
    #[arg(long, value_name = "URL[,URL...]", value_parser = parse_servers)]
    kitchen_server: Option<chit_client::Servers>,
    /// Deal placing clients over --server's list and kitchens over --kitchen-server's
    /// (else --server's), round robin, instead of putting them all on the first: load on
    /// every node of a cluster. Idle and fan-out connections stay on the first.
    #[arg(long)]
    spread: bool,
    /// Place the orders over HTTP (POST /v1/orders, on the same port), each client
    /// through --in-flight kept-alive connections; kitchens still listen over WebSocket.
    #[arg(long)]
    http: bool,
}

#[derive(Serialize)]
struct Report {
    server: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    orders: Option<orders::Report>,
    #[serde(skip_serializing_if = "Option::is_none")]
    idle: Option<idle::Report>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fanout: Option<fanout::Report>,
    complete: bool,
}

fn parse_servers(text: &str) -> Result<chit_client::Servers, String> {
    chit_client::Servers::parse(text).map_err(|e| e.to_string())
}

pub async fn run(global: &Global, args: BenchArgs) -> Outcome {
    // A load generator loads the first server of the list, unless told to spread.
    let target = crate::connect::connector(global)?;
    let kitchens = match &args.kitchen_server {
        Some(list) => {
            let mut connect = global.connect.clone();
            connect.server = list.clone();
            connect
                .connector(global.settings(), crate::connect::CLIENT_NAME)
                .map_err(|e| Failure::usage(e.to_string()))?
        }
        None => target.clone(),
    };
    for endpoint in target.servers().iter().chain(kitchens.servers().iter()) {
        if !is_loopback(&endpoint.host) && !args.yes_remote {
            return Err(Failure::usage(format!(
                "refusing to load '{}', which is not this machine: pass --yes-remote if you mean it",
                endpoint.host
            )));
        }
    }
    let nodes = Nodes {
        placing: target.clone(),
        kitchens,
        spread: args.spread,
    };
    let url = target.servers().get(0).url.clone();
    let wanted_fds = u64::from(args.idle + args.fanout + args.kitchens + args.clients) + 256;
    if let Ok(got) = rlimit::increase_nofile_limit(wanted_fds)
        && got < wanted_fds
    {
        eprintln!(
            "chit: warning: the open-file limit is {got}; {wanted_fds} descriptors are wanted"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(args.max_secs);
    let connection_failed = |e: conn::ConnError| Failure {
        code: 3,
        message: e.0,
    };
    // One admin connection to each server the orders scenario uses (the first is the
    // first of --server, which the other scenarios load), to read its own figures.
    let mut admins = Vec::new();
    for node in nodes.used(args.clients as usize, args.kitchens as usize) {
        let mut admin = Conn::open_to(node.target, node.index, 16 * 1024)
            .await
            .map_err(connection_failed)?;
        let stats = admin.stats().await.map_err(connection_failed)?;
        if stats.server.is_none() {
            return Err(Failure::refused(
                "chit bench needs an admin token (it reads the server's own figures)",
            ));
        }
        admins.push(admin);
    }
    let failed = |e: conn::ConnError| Failure::refused(e.0);

    let only_others = args.orders.is_none() && (args.idle > 0 || args.fanout > 0);
    let n_orders = args.orders.unwrap_or(if only_others { 0 } else { 20_000 }) as usize;
    let mut report = Report {
        server: url,
        orders: None,
        idle: None,
        fanout: None,
        complete: true,
    };
    if n_orders > 0 {
        let params = orders::Params {
            kitchens: args.kitchens as usize,
            restaurants: args.restaurants.unwrap_or(args.kitchens) as usize,
            clients: args.clients as usize,
            in_flight: args.in_flight as usize,
            orders: n_orders,
            updates: (args.updates as usize).min(n_orders),
            http: args.http,
        };
        let r = orders::run(&nodes, &mut admins, params, deadline)
            .await
            .map_err(failed)?;
        report.complete &= r.complete;
        if !global.json {
            print_orders(&r);
        }
        report.orders = Some(r);
    }
    let admin = &mut admins[0];
    if args.idle > 0 {
        let r = idle::run(&target, admin, args.idle as usize, deadline)
            .await
            .map_err(failed)?;
        report.complete &= r.complete;
        if !global.json {
            print_idle(&r);
        }
        report.idle = Some(r);
    }
    if args.fanout > 0 {
        let r = fanout::run(
            &target,
            admin,
            args.fanout as usize,
            args.fanout_events as usize,
            deadline,
        )
        .await
        .map_err(failed)?;
        report.complete &= r.complete;
        if !global.json {
            print_fanout(&r);
        }
        report.fanout = Some(r);
    }
    for admin in admins {
        admin.close().await;
    }
    if global.json {
        crate::output::json(&report);
    }
    if report.complete {
        Ok(())
    } else {
        Err(Failure::refused(
            "the run was incomplete: some requests failed or some events did not arrive (see above)",
        ))
    }
}

fn print_orders(r: &orders::Report) {
    let p = &r.params;
    println!(
        "orders{}: {} kitchens on {} restaurants, {} clients x {} in flight",
        if p.http { " over HTTP" } else { "" },
        p.kitchens,
        p.restaurants,
        p.clients,
        p.in_flight
    );
    println!(
        "  placed       {}/{} acknowledged in {:.2} s: {:.0} orders/s{}",
        r.orders_acked,
        p.orders,
        r.place_secs,
        r.orders_per_sec,
        errors(&r.order_errors)
    );
    println!("  ack          {}", r.ack_latency.human());
    println!(
        "  notify       {}  place -> kitchen, {}/{} received",
        r.notify_latency.human(),
        r.notify_latency.n,
        r.notify_expected
    );
    println!(
        "  updates      {}/{} acknowledged in {:.2} s: {:.0} updates/s{}",
        r.updates_acked,
        p.updates,
        r.update_secs,
        r.updates_per_sec,
        errors(&r.update_errors)
    );
    println!(
        "  notify       {}  update -> customer",
        r.update_notify_latency.human()
    );
    println!(
        "  server       {:.1} µs CPU per operation ({:.2} s for {} orders and updates), {:.0} events/s, {:.1} MiB resident",
        r.server.cpu_us_per_op,
        r.server.cpu_secs,
        r.orders_acked + r.updates_acked,
        r.server.events_per_sec,
        mib(r.server.rss_bytes)
    );
    for node in &r.nodes {
        println!(
            "  node         {:.1} µs CPU per operation ({:.2} s), {:.1} MiB resident, {} connections: {}",
            node.server.cpu_us_per_op,
            node.server.cpu_secs,
            mib(node.server.rss_bytes),
            node.server.connections,
            node.url
        );
    }
    println!(
        "  load         {:.2} s CPU in chit bench; {:.2} s CPU used by other processes in these {:.2} s",
        r.loadgen_cpu_secs, r.other_cpu_secs, r.wall_secs
    );
    if r.order_errors.contains_key("rate_limited") || r.update_errors.contains_key("rate_limited") {
        println!(
            "  note         the server's per-connection rate limit refused requests: start it with a higher --rate-limit (0 for none)"
        );
    }
}

fn errors(errors: &std::collections::BTreeMap<String, u64>) -> String {
    if errors.is_empty() {
        return String::new();
    }
    let list: Vec<String> = errors.iter().map(|(c, n)| format!("{n} {c}")).collect();
    format!(" (errors: {})", list.join(", "))
}

fn print_idle(r: &idle::Report) {
    println!(
        "idle: {} connections opened in {:.2} s ({:.0}/s), {} failed{}",
        r.opened,
        r.open_secs,
        r.connections_per_sec,
        r.failed,
        r.first_error
            .as_deref()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
    println!(
        "  memory       {:.2} KB per idle connection ({:.1} MiB -> {:.1} MiB resident; the server counts {} connections, {} descriptors)",
        r.bytes_per_idle_connection / 1024.0,
        mib(r.rss_warm_bytes),
        mib(r.rss_idle_bytes),
        r.server_connections,
        r.server_open_fds
    );
    println!(
        "  joined       {:.2} KB per connection after each joined a room ({:.1} MiB), {} still open",
        r.bytes_per_joined_connection / 1024.0,
        mib(r.rss_joined_bytes),
        r.still_open
    );
    println!("  opening      {}", r.open_latency.human());
    if r.tls_handshake.n > 0 {
        println!("  tls          {}", r.tls_handshake.human());
    }
    println!(
        "  this side    {:.2} KB per idle connection in chit bench, {:.0} µs of its CPU to open each",
        r.client_bytes_per_connection / 1024.0,
        r.client_cpu_us_per_open
    );
}

fn print_fanout(r: &fanout::Report) {
    println!(
        "fanout: {} subscribers of one room, {} events, {}/{} deliveries{}",
        r.subscribed,
        r.events,
        r.delivered,
        r.expected,
        r.first_error
            .as_deref()
            .map(|e| format!(" ({} failed to subscribe; first: {e})", r.failed))
            .unwrap_or_default()
    );
    println!("  delivery     {}", r.delivery_latency.human());
    println!("  reach all    {}", r.reach_all.human());
    println!(
        "  cpu          {:.2} s in the server, {:.2} s in chit bench, while the events were sent",
        r.server_cpu_secs, r.loadgen_cpu_secs
    );
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machine_counts_as_loopback() {
        for (url, loopback) in [
            ("ws://127.0.0.1:7787", true),
            ("ws://127.8.9.1:7787/x", true),
            ("ws://localhost:7787", true),
            ("ws://[::1]:7787", true),
            ("ws://10.0.0.5:7787", false),
            ("wss://example.com", false),
            ("ws://user@192.168.1.2:80", false),
            ("wss://LOCALHOST:443", true),
        ] {
            let host = chit_client::Endpoint::parse(url).unwrap().host;
            assert_eq!(is_loopback(&host), loopback, "{url}");
        }
    }
}
