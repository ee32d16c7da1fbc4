//! `chit stats`: today's figures for a restaurant (or all, for admins).

use chit_protocol::money;
use clap::Args;

use crate::connect::connect;
use crate::output::json;
use crate::{Global, Outcome};

#[derive(Args)]
pub struct StatsArgs {
    #[arg(long)]
    restaurant: Option<String>,
}

pub async fn run(global: &Global, args: StatsArgs) -> Outcome {
    let (client, _) = connect(global).await?;
    let stats = client.stats(args.restaurant).await?;
    if global.json {
        json(&stats);
        return Ok(());
    }
    let t = &stats.today;
    println!(
        "today at {}: {} orders, revenue {}, {} pending, {} open, {} cancelled or rejected, average {} to ready",
        t.restaurant.as_deref().unwrap_or("all restaurants"),
        t.total_orders,
        money::format(t.total_revenue),
        t.pending_orders,
        t.open_orders,
        t.cancelled_orders,
        t.avg_ready_minutes
            .map(|m| format!("{m:.1} min"))
            .unwrap_or_else(|| "-".into()),
    );
    if let Some(s) = &stats.server {
        println!(
            "server: {} connections, {:.1} MiB resident, {} events since start, {} orders stored, head {}, up {} s",
            s.connections,
            s.rss_bytes as f64 / (1 << 20) as f64,
            s.events_total,
            s.orders_total,
            s.head,
            s.uptime_secs
        );
    }
    Ok(())
}
