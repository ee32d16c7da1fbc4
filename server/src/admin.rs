//! `chit-server webhook …` and `chit-server hook …`: webhook endpoints and inbound
//! hooks, managed in the database directly (like tokens); a running server picks up
//! what changed within a second.

use std::time::Instant;

use anyhow::{Context, bail};
use chit_protocol::{Role, format_time, now_ms};
use chit_server::auth::{Principal, hash_token, new_token};
use chit_server::ops::offline::Db;
use chit_server::webhooks::queries as hooks;
use chit_server::webhooks::{WebhookConfig, deliver, sign};
use clap::Subcommand;

#[derive(Subcommand, Clone)]
pub enum WebhookCommand {
    /// Add an endpoint for events from now on; its signing secret is printed once,
    /// alone on stdout.
    Add {
        /// Where events are POSTed (http:// or https://).
        #[arg(long)]
        url: String,
        /// Event kinds, comma separated [default: every stored kind]
        #[arg(long, value_delimiter = ',')]
        events: Vec<String>,
        /// Only this restaurant's events.
        #[arg(long)]
        restaurant: Option<String>,
    },
    /// List endpoints: state, how far delivery has got, failures.
    List,
    /// Remove an endpoint; its deliveries stop within a second.
    Remove { id: i64 },
    /// Send an endpoint a signed test event now, and say how it answered.
    Test { id: i64 },
}

#[derive(Subcommand, Clone)]
pub enum HookCommand {
    /// Add a hook: `POST /v1/hooks/NAME` with a Standard Webhooks signature made with
    /// the secret printed (once, alone on stdout) places orders for the restaurant.
    Add {
        name: String,
        #[arg(long)]
        restaurant: String,
    },
    /// List hooks (never the secrets).
    List,
    /// Remove a hook; its deliveries are refused from then on.
    Remove { name: String },
}

/// Event kinds a webhook may ask for: the stored ones (live-only kinds have no seq to
/// resume from, so they are never delivered).
const KINDS: &[&str] = &["new_order", "order_update", "chat_message"];

fn valid_id(what: &str, value: &str) -> anyhow::Result<()> {
    if !chit_protocol::room::valid_ident(value) {
        bail!("{what} '{value}' is not a valid id (1-64 letters, digits, '_', '-' or '.')");
    }
    Ok(())
}

pub fn webhook(db: &mut Db, cmd: WebhookCommand) -> anyhow::Result<()> {
    let config = WebhookConfig::default();
    match cmd {
        WebhookCommand::Add {
            url,
            events,
            restaurant,
        } => {
            let parsed = reqwest::Url::parse(&url).with_context(|| format!("--url '{url}'"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                bail!("--url '{url}' must be an http:// or https:// URL with a host");
            }
            for kind in &events {
                if !KINDS.contains(&kind.as_str()) {
                    bail!(
                        "--events: '{kind}' is not an event a webhook can get (one of: {})",
                        KINDS.join(", ")
                    );
                }
            }
            if let Some(r) = &restaurant {
                valid_id("--restaurant", r)?;
            }
            let secret = sign::new_secret();
            let events = (!events.is_empty()).then_some(events);
            let id = db
                .insert_webhook(
                    parsed.as_str(),
                    &secret,
                    events.as_deref(),
                    restaurant.as_deref(),
                    now_ms(),
                )
                .context("saving the webhook")?;
            let endpoint = db.webhook(id)?.context("the webhook just saved")?;
            eprintln!(
                "added webhook {id}: {} ({}), for events after seq {}; its secret:",
                endpoint.url,
                scope(&endpoint),
                endpoint.progress.delivered_seq
            );
            chit_server::ops::say(format_args!("{secret}"))?;
        }
        WebhookCommand::List => {
            let endpoints = db.webhooks().context("listing webhooks")?;
            if endpoints.is_empty() {
                eprintln!("no webhooks");
            }
            for e in endpoints {
                let p = &e.progress;
                chit_server::ops::say(format_args!(
                    "{:>4}  {}  {}  {}  delivered through seq {} ({} events)",
                    e.id,
                    e.url,
                    scope(&e),
                    config.state(p.failures),
                    p.delivered_seq,
                    p.delivered_total
                ))?;
                if p.failures > 0 {
                    chit_server::ops::say(format_args!(
                        "      {} failed attempts in a row, last: {}{}",
                        p.failures,
                        p.last_error.as_deref().unwrap_or("?"),
                        p.next_attempt_at
                            .map(|at| format!("; next attempt at {}", format_time(at)))
                            .unwrap_or_default()
                    ))?;
                }
            }
        }
        WebhookCommand::Remove { id } => {
            if !db.remove_webhook(id).context("removing")? {
                bail!("no webhook with id {id}");
            }
            eprintln!("removed webhook {id}");
        }
        WebhookCommand::Test { id } => {
            let endpoint = db
                .webhook(id)?
                .with_context(|| format!("no webhook with id {id}"))?;
            let mut nonce = [0u8; 8];
            getrandom::fill(&mut nonce).expect("the operating system's random source");
            let message = format!("test_{}", u64::from_be_bytes(nonce));
            let body = serde_json::json!({
                "room": format!("webhook:{id}"),
                "kind": "webhook_test",
                "at": format_time(now_ms()),
                "data": {"webhook": id, "url": endpoint.url, "message": "a test from chit-server"},
            })
            .to_string();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let started = Instant::now();
            let client = deliver::client(config.timeout);
            let sent = runtime.block_on(deliver::attempt(
                &client,
                &endpoint.url,
                &endpoint.secret,
                &message,
                &body,
            ));
            match sent {
                Ok(()) => eprintln!(
                    "webhook {id}: the test event {message} was delivered in {} ms",
                    started.elapsed().as_millis()
                ),
                Err(failed) => bail!(
                    "webhook {id}: the test event was not delivered: {}",
                    failed.reason
                ),
            }
        }
    }
    Ok(())
}

fn scope(e: &hooks::Endpoint) -> String {
    let events = e
        .events
        .as_ref()
        .map(|k| k.join(","))
        .unwrap_or_else(|| "every event".into());
    match &e.restaurant {
        Some(r) => format!("{events} of restaurant {r}"),
        None => format!("{events} of every restaurant"),
    }
}

pub fn hook(db: &mut Db, cmd: HookCommand) -> anyhow::Result<()> {
    match cmd {
        HookCommand::Add { name, restaurant } => {
            valid_id("hook name", &name)?;
            valid_id("--restaurant", &restaurant)?;
            if db.hook(&name)?.is_some() {
                bail!("a hook named '{name}' exists already (remove it first)");
            }
            // The hook speaks as a pos token of its restaurant, whose value nobody
            // needs: the same role rules apply as to any pos.
            let principal = Principal {
                token_id: 0,
                role: Role::Pos,
                restaurant: Some(restaurant.clone()),
                rider: None,
                customer: None,
                label: Some(format!("hook {name}")),
            };
            let token_id = db
                .insert_token(&hash_token(&new_token()), &principal, now_ms())
                .context("saving the hook's token")?;
            let secret = sign::new_secret();
            db.insert_hook(&name, &secret, token_id, now_ms())
                .context("saving the hook")?;
            eprintln!(
                "added hook '{name}' for restaurant {restaurant}: POST /v1/hooks/{name}, signed with:"
            );
            chit_server::ops::say(format_args!("{secret}"))?;
        }
        HookCommand::List => {
            let all = db.hooks().context("listing hooks")?;
            if all.is_empty() {
                eprintln!("no hooks");
            }
            let tokens = db.list_tokens()?;
            for h in all {
                let token = tokens.iter().find(|t| t.principal.token_id == h.token_id);
                let restaurant = token
                    .and_then(|t| t.principal.restaurant.clone())
                    .unwrap_or_else(|| "?".into());
                let state = match token.and_then(|t| t.revoked_at) {
                    Some(at) => format!("revoked {}", format_time(at)),
                    None => "live".into(),
                };
                chit_server::ops::say(format_args!(
                    "{:<20}  restaurant {restaurant}  POST /v1/hooks/{}  created {}  {state}",
                    h.name,
                    h.name,
                    format_time(h.created_at)
                ))?;
            }
        }
        HookCommand::Remove { name } => {
            let Some(token_id) = db.remove_hook(&name)? else {
                bail!("no hook named '{name}'");
            };
            db.revoke_token(token_id, now_ms())?;
            eprintln!("removed hook '{name}'");
        }
    }
    Ok(())
}
