//! The writer's side of menus and 86: the menus it routes orders by and the items run
//! out of, cached per restaurant (only the writer changes either, so the cache is the
//! truth once read; where other nodes' writers share the database, it lasts one group);
//! routing a new order's items and refusing one that names an item
//! run out of; marking items unavailable and available again; ending 86s whose time
//! has come; and taking up menus that `chit-server menu load` left for it.
//!
//! `menu load` runs as a process of its own beside the server, so it cannot give its
//! change a seq: the writer alone numbers events. It leaves the menu in `menu_loads`;
//! the server notices (once a second, as it notices revoked tokens) and asks the
//! writer, which in one transaction makes it the restaurant's menu, logs `menu_update`
//! with the next seq and deletes the row. A crash before that commit leaves the row for
//! the next start; after it, the event is in the log for every client to replay. From
//! that commit on, and not before, orders are routed by the new menu: the event marks
//! the moment in the log.

use std::collections::HashMap;
use std::sync::Arc;

use crate::store::tx::{Tx, TxResult};
use chit_protocol::menu::name_key;
use chit_protocol::{ErrorCode, EventKind, Item, MenuChange, MenuUpdate, Room};

use super::{Batch, Data, Written, emit};
use crate::auth::{self, Principal};
use crate::error::Refusal;
use crate::kitchen::routing::Routing;
use crate::store::kitchen_sql::EightySix;

/// How far ahead an item may be made unavailable.
const MAX_UNAVAILABLE_MS: i64 = 366 * 24 * 3600 * 1000;

/// Per restaurant: the menu orders are routed by (none: whole tickets), and its items
/// run out of by name as compared: (name, until).
#[derive(Default)]
pub(in crate::store) struct Kitchen {
    menus: HashMap<String, Option<Arc<Routing>>>,
    unavailable: HashMap<String, HashMap<String, (String, i64)>>,
}

impl Kitchen {
    fn routing(&mut self, tx: &dyn Tx, restaurant: &str) -> TxResult<Option<Arc<Routing>>> {
        if let Some(known) = self.menus.get(restaurant) {
            return Ok(known.clone());
        }
        let routing = tx.live_menu(restaurant)?.map(|m| Arc::new(Routing::new(m)));
        self.menus.insert(restaurant.to_string(), routing.clone());
        Ok(routing)
    }

    fn unavailable(
        &mut self,
        tx: &dyn Tx,
        restaurant: &str,
        now: i64,
    ) -> TxResult<&mut HashMap<String, (String, i64)>> {
        if !self.unavailable.contains_key(restaurant) {
            let read = tx.unavailable_keys(restaurant, now)?;
            self.unavailable.insert(restaurant.to_string(), read);
        }
        Ok(self.unavailable.get_mut(restaurant).expect("just read"))
    }

    /// The stations of `restaurant`'s menu, in its order (for the figures), if known.
    pub fn stations(&self, restaurant: &str) -> Vec<String> {
        match self.menus.get(restaurant) {
            Some(Some(r)) => r.menu().stations.clone(),
            _ => Vec::new(),
        }
    }
}

/// The items of a new order as its restaurant's menu routes them, after refusing the
/// order if it names an item run out of. Without a menu, the items as given.
pub(super) fn route(
    tx: &dyn Tx,
    batch: &mut Batch,
    restaurant: &str,
    mut items: Vec<Item>,
) -> Result<Vec<Item>, Refusal> {
    let routing = batch.kitchen.routing(tx, restaurant)?;
    let now = batch.now;
    let out = batch.kitchen.unavailable(tx, restaurant, now)?;
    if !out.is_empty() {
        let mut refused: Vec<(String, i64)> = Vec::new();
        for item in &items {
            let key = key_of(routing.as_deref(), &item.name);
            if let Some((name, until)) = out.get(&key).filter(|(_, until)| *until > now)
                && !refused.iter().any(|(n, _)| n == name)
            {
                refused.push((name.clone(), *until));
            }
        }
        if !refused.is_empty() {
            return Err(unavailable(restaurant, &refused, now));
        }
    }
    if let Some(routing) = routing {
        for item in &mut items {
            routing.route(item);
        }
    }
    Ok(items)
}

/// The name an item is made unavailable under: the menu's own for an item it knows
/// (by any of its names), else the name as given.
fn key_of(routing: Option<&Routing>, name: &str) -> String {
    match routing.and_then(|r| r.find(name)) {
        Some(item) => name_key(&item.name),
        None => name_key(name),
    }
}

fn unavailable(restaurant: &str, items: &[(String, i64)], now: i64) -> Refusal {
    let names: Vec<String> = items.iter().map(|(n, _)| format!("'{n}'")).collect();
    let (verb, until) = match items {
        [(_, until)] => ("is", format!(" until {}", local_time(*until, now))),
        _ => ("are", String::new()),
    };
    Refusal::new(
        ErrorCode::Unavailable,
        format!(
            "{} {verb} unavailable at {restaurant}{until} (86'd): nothing was placed; leave {} out or choose another",
            names.join(" and "),
            if items.len() == 1 { "it" } else { "them" },
        ),
    )
}

/// `23:59` (or `midnight`) when `at` is within a day of `now`, else the date too, in
/// the server's local time.
fn local_time(at: i64, now: i64) -> String {
    use chrono::TimeZone;
    let Some(t) = chrono::Local.timestamp_millis_opt(at).earliest() else {
        return chit_protocol::format_time(at);
    };
    let clock = t.format("%H:%M").to_string();
    if at - now > 24 * 3600 * 1000 {
        t.format("%Y-%m-%d %H:%M").to_string()
    } else if clock == "00:00" {
        "midnight".into()
    } else {
        clock
    }
}

/// `mark_unavailable`: until `until` (Unix ms; none: the end of the local day).
pub(super) fn mark_unavailable(
    tx: &dyn Tx,
    batch: &mut Batch,
    who: &Principal,
    restaurant: &str,
    item: &str,
    until: Option<i64>,
) -> Result<Written, Refusal> {
    auth::check_menu_change(who, restaurant)?;
    let now = batch.now;
    let until = match until {
        Some(u) => u,
        None => tx.day_of(now)?.end,
    };
    if until <= now {
        return Err(Refusal::bad_request(format!(
            "until {} has passed: give a time ahead",
            chit_protocol::format_time(until)
        )));
    }
    if until - now > MAX_UNAVAILABLE_MS {
        return Err(Refusal::bad_request(
            "an item can be made unavailable for at most a year at a time",
        ));
    }
    let routing = batch.kitchen.routing(tx, restaurant)?;
    let name = match routing.as_deref() {
        None => item.to_string(),
        Some(r) => match r.find(item) {
            Some(known) => known.name.clone(),
            None => {
                return Err(Refusal::not_found(format!(
                    "'{item}' is not on {restaurant}'s menu (chit menu show --restaurant {restaurant} lists it)"
                )));
            }
        },
    };
    let key = name_key(&name);
    tx.mark_unavailable(&EightySix {
        restaurant,
        key: &key,
        item: &name,
        until,
        since: now,
        by: &who.name(),
    })?;
    batch
        .kitchen
        .unavailable(tx, restaurant, now)?
        .insert(key, (name.clone(), until));
    batch.schedule_changed = true;
    announce(
        tx,
        batch,
        restaurant,
        MenuChange::Unavailable,
        Some(name),
        false,
    )
}

/// `mark_available`: ends an 86.
pub(super) fn mark_available(
    tx: &dyn Tx,
    batch: &mut Batch,
    who: &Principal,
    restaurant: &str,
    item: &str,
) -> Result<Written, Refusal> {
    auth::check_menu_change(who, restaurant)?;
    let routing = batch.kitchen.routing(tx, restaurant)?;
    let key = key_of(routing.as_deref(), item);
    let now = batch.now;
    let out = batch.kitchen.unavailable(tx, restaurant, now)?;
    let Some((name, _)) = out.get(&key).filter(|(_, until)| *until > now).cloned() else {
        return Err(Refusal::not_found(format!(
            "'{item}' is not unavailable at {restaurant}: nothing to restore"
        )));
    };
    tx.mark_available(restaurant, &key)?;
    out.remove(&key);
    announce(
        tx,
        batch,
        restaurant,
        MenuChange::Restored,
        Some(name),
        false,
    )
}

/// Ends the 86s whose `until` has come, each with a `menu_update` (restored, expired).
pub(super) fn expire(tx: &dyn Tx, batch: &mut Batch) -> Result<(), Refusal> {
    for (restaurant, item) in tx.take_expired(batch.now)? {
        if let Some(out) = batch.kitchen.unavailable.get_mut(&restaurant) {
            out.remove(&name_key(&item));
        }
        announce(
            tx,
            batch,
            &restaurant,
            MenuChange::Restored,
            Some(item),
            true,
        )?;
    }
    Ok(())
}

/// Takes up the menus `chit-server menu load` left: each becomes its restaurant's,
/// with a `menu_update` (loaded).
pub(super) fn take_up_loads(tx: &dyn Tx, batch: &mut Batch) -> Result<(), Refusal> {
    for (menu, loaded_at) in tx.take_menu_loads()? {
        tx.save_menu(&menu, loaded_at)?;
        let restaurant = menu.restaurant.clone();
        tracing::info!(
            "restaurant '{restaurant}' now uses menu version {} ({} stations, {} items)",
            menu.version,
            menu.stations.len(),
            menu.items.len()
        );
        batch
            .kitchen
            .menus
            .insert(restaurant.clone(), Some(Arc::new(Routing::new(menu))));
        announce(tx, batch, &restaurant, MenuChange::Loaded, None, false)?;
    }
    Ok(())
}

/// Logs a `menu_update` for `restaurant` (with the menu, when one was loaded, and what
/// is unavailable now) and answers with what is unavailable.
fn announce(
    tx: &dyn Tx,
    batch: &mut Batch,
    restaurant: &str,
    change: MenuChange,
    item: Option<String>,
    expired: bool,
) -> Result<Written, Refusal> {
    let unavailable = tx.unavailable(restaurant, batch.now)?;
    let menu = match change {
        MenuChange::Loaded => batch
            .kitchen
            .routing(tx, restaurant)?
            .map(|r| r.menu().clone()),
        _ => None,
    };
    let update = MenuUpdate {
        restaurant: restaurant.to_string(),
        change,
        item,
        expired,
        menu,
        unavailable,
    };
    let data = serde_json::to_string(&update).expect("serializable");
    emit(
        batch,
        &[Room::Restaurant(restaurant.to_string())],
        EventKind::MenuUpdate,
        Data::Json(data),
        None,
    );
    Ok(Written::Unavailable {
        restaurant: restaurant.to_string(),
        items: update.unavailable,
    })
}
