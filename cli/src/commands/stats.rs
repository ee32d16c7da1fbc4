//! `chit stats`: today's figures for a restaurant (or all, for admins).

use chit_protocol::money;
use clap::Args;

use crate::connect::connect;
use crate::output::{self, json};
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
    let speed = &t.speed;
    if speed.items.count > 0 || speed.orders.count > 0 {
        println!("speed of service today:");
        println!(
            "  items, in the kitchen to done:  {}",
            output::timing(&speed.items)
        );
        println!(
            "  orders, fired to ready:         {}",
            output::timing(&speed.orders)
        );
        let width = speed
            .stations
            .iter()
            .map(|s| chit_text::width(&s.station))
            .max()
            .unwrap_or(0);
        for s in &speed.stations {
            println!(
                "  {}  {}",
                chit_text::pad(&s.station, width.max(6)),
                output::timing(&s.items)
            );
        }
    }
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
