//! `chit-server export`: the orders placed between two local dates, with their items,
//! as CSV (one row per item, money in decimals) or JSON Lines (one order a line, as on
//! the wire) for accounting. Days are cut at local midnight, as today's figures are.
//! From the SQLite file or from PostgreSQL: the rows are the same, and the local times
//! come from SQLite's local time either way.

use std::io::Write;
use std::path::{Path, PathBuf};

use chit_protocol::{Order, money};
use rusqlite::Connection;

use super::offline::Target;
use crate::store::StoreError;
use crate::store::queries::{ORDER_COLUMN_COUNT, ORDER_COLUMNS, order_from_row};

/// What `chit-server export` takes.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// First local date, YYYY-MM-DD: from its local midnight.
    #[arg(long, value_name = "DATE")]
    pub from: String,
    /// Last local date, YYYY-MM-DD, included: up to the next local midnight.
    #[arg(long, value_name = "DATE")]
    pub to: String,
    /// Only this restaurant's orders.
    #[arg(long, value_name = "ID")]
    pub restaurant: Option<String>,
    #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
    pub format: ExportFormat,
    /// Write to this file (replaced whole once the export is complete) instead of stdout.
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// One row per item, order fields on every row, money as decimals (`120.00`).
    Csv,
    /// One order a line, as the protocol sends it (money in minor units).
    Jsonl,
}

/// The CSV columns, in order: a stable set that accounting sheets can rely on (new
/// columns are only ever added at the end).
pub const CSV_COLUMNS: [&str; 22] = [
    "order_id",
    "number",
    "date",
    "placed_local",
    "placed_at",
    "updated_at",
    "restaurant",
    "status",
    "fulfilment",
    "customer_id",
    "customer_name",
    "customer_phone",
    "customer_address",
    "rider",
    "order_note",
    "item",
    "item_name",
    "qty",
    "unit_price",
    "line_total",
    "item_note",
    "order_total",
];

/// Local dates turned into the instants that bound them, as SQLite's local time has it.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    pub from: String,
    pub to: String,
    /// Unix ms of `from`'s local midnight.
    pub start: i64,
    /// Unix ms of the local midnight after `to` (not included).
    pub end: i64,
    /// The local time's offset from UTC at `start`, in minutes.
    pub offset_minutes: i64,
}

impl Range {
    /// `from` and `to` as YYYY-MM-DD local dates, `from` not after `to`.
    pub fn of(conn: &Connection, from: &str, to: &str) -> Result<Range, ExportError> {
        let bounds = |date: &str| -> Result<(i64, i64, i64), ExportError> {
            // SQLite reads `2026-02-30` as March 2nd; only a date that reads back as
            // itself is one.
            let read: (bool, Option<i64>, Option<i64>, Option<f64>) = conn.query_row(
                "SELECT date(?1) IS ?1 AND length(?1) = 10,
                        unixepoch(?1, 'utc') * 1000,
                        unixepoch(?1, '+1 day', 'utc') * 1000,
                        (julianday(?1) - julianday(?1, 'utc')) * 1440",
                [date],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            match read {
                (true, Some(start), Some(next), Some(offset)) => {
                    Ok((start, next, offset.round() as i64))
                }
                _ => Err(ExportError::BadDate(date.to_string())),
            }
        };
        let (start, _, offset_minutes) = bounds(from)?;
        let (to_start, end, _) = bounds(to)?;
        if to_start < start {
            return Err(ExportError::Backwards(from.to_string(), to.to_string()));
        }
        Ok(Range {
            from: from.to_string(),
            to: to.to_string(),
            start,
            end,
            offset_minutes,
        })
    }

    /// `UTC+07:00`, `UTC-05:00`, `UTC`.
    pub fn offset(&self) -> String {
        let m = self.offset_minutes;
        if m == 0 {
            return "UTC".into();
        }
        let sign = if m < 0 { '-' } else { '+' };
        format!("UTC{sign}{:02}:{:02}", m.abs() / 60, m.abs() % 60)
    }
}

/// How much an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exported {
    pub orders: u64,
    pub items: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The path is in the message's context (`backing up '…'`).
    #[error("there is no such database (give its path with --db or CHIT_DB)")]
    NoDatabase(PathBuf),
    #[error("the database has no chit tables (is it the one the servers use?)")]
    NoTables,
    #[error("'{0}' is not a date: write YYYY-MM-DD, e.g. 2026-11-01")]
    BadDate(String),
    #[error("--from {0} is after --to {1}")]
    Backwards(String, String),
    #[error("--restaurant '{0}' is not a valid id (1-64 letters, digits, '_', '-' or '.')")]
    BadRestaurant(String),
    #[error("reading the orders: {0}")]
    Db(#[from] rusqlite::Error),
    // Not `source`s: PostgreSQL's message already holds its causes.
    #[error("reading the orders: {0}")]
    Store(StoreError),
    #[error("connecting: {0}")]
    Connect(StoreError),
    #[error("writing the export: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
}

impl From<StoreError> for ExportError {
    fn from(error: StoreError) -> ExportError {
        ExportError::Store(error)
    }
}

/// Runs `chit-server export` on the database `target` names: to `args.output` (written
/// beside it, then renamed into place, so a failed export leaves the old file) or to
/// stdout.
pub fn run(target: &Target, args: &ExportArgs) -> Result<Summary, ExportError> {
    let restaurant = args.restaurant.as_deref();
    let done = match target {
        Target::Sqlite(db) => {
            if !db.is_file() {
                return Err(ExportError::NoDatabase(db.to_path_buf()));
            }
            let conn = super::open_existing(db)?;
            let range = Range::of(&conn, &args.from, &args.to)?;
            let done = write_out(args, |out| {
                export(&conn, &range, restaurant, args.format, out)
            })?;
            (range, done)
        }
        #[cfg(feature = "postgres")]
        Target::Postgres(url) => {
            // The day bounds and local times as SQLite has them, from a connection of
            // its own: the same figures as from a SQLite file on this machine.
            let clock = Connection::open_in_memory()?;
            let range = Range::of(&clock, &args.from, &args.to)?;
            let mut client =
                crate::store::postgres::connect(url).map_err(|e| ExportError::Connect(e.into()))?;

            if !super::offline::has_tables(&mut client)? {
                return Err(ExportError::NoTables);
            }
            let done = write_out(args, |out| {
                export_postgres(&mut client, &clock, &range, restaurant, args.format, out)
            })?;
            (range, done)
        }
        #[cfg(not(feature = "postgres"))]
        Target::Postgres(_) => {
            return Err(ExportError::Store(StoreError::Backend(
                "this chit-server was built without PostgreSQL (the 'postgres' feature)".into(),
            )));
        }
    };
    let (range, done) = done;
    Ok(Summary {
        range,
        done,
        output: args.output.clone(),
    })
}

/// Runs `export` on `args.output` (a temporary file beside it, renamed into place once
/// complete) or on stdout.
fn write_out(
    args: &ExportArgs,
    export: impl FnOnce(&mut dyn Write) -> Result<Exported, ExportError>,
) -> Result<Exported, ExportError> {
    let Some(path) = &args.output else {
        return export(&mut std::io::stdout().lock());
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".chit-export-")
        .tempfile_in(dir)?;
    let done = export(&mut file)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(done)
}

/// What an export wrote, and where, as `chit-server export` says it.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub range: Range,
    pub done: Exported,
    pub output: Option<PathBuf>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = |n: u64, one: &str| match n {
            1 => format!("1 {one}"),
            n => format!("{n} {one}s"),
        };
        let to = match &self.output {
            Some(path) => format!("'{}'", path.display()),
            None => "stdout".into(),
        };
        write!(
            f,
            "exported {} ({}) placed {} to {} local time ({}) to {to}",
            count(self.done.orders, "order"),
            count(self.done.items, "item"),
            self.range.from,
            self.range.to,
            self.range.offset()
        )
    }
}

/// Writes the orders placed in `range` (of `restaurant`, or all), oldest first, to
/// `out` in `format`. Rows are read and written one at a time, so a year of orders
/// takes no more memory than one.
pub fn export(
    conn: &Connection,
    range: &Range,
    restaurant: Option<&str>,
    format: ExportFormat,
    out: impl Write,
) -> Result<Exported, ExportError> {
    if let Some(r) = restaurant.filter(|r| !chit_protocol::room::valid_ident(r)) {
        return Err(ExportError::BadRestaurant(r.to_string()));
    }
    // The local times come from SQLite, as the day bounds do, so both agree.
    let sql = format!(
        "SELECT {ORDER_COLUMNS},
                date(created_at / 1000, 'unixepoch', 'localtime'),
                strftime('%Y-%m-%d %H:%M:%S', created_at / 1000, 'unixepoch', 'localtime')
         FROM orders
         WHERE created_at >= ?1 AND created_at < ?2 AND (?3 IS NULL OR restaurant = ?3)
         ORDER BY created_at, id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params![range.start, range.end, restaurant])?;
    let mut sink = Sink::new(format, out)?;
    let mut done = Exported::default();
    while let Some(row) = rows.next()? {
        let order = order_from_row(row)?;
        let date: String = row.get(ORDER_COLUMN_COUNT)?;
        let local: String = row.get(ORDER_COLUMN_COUNT + 1)?;
        sink.order(&order, &date, &local)?;
        done.orders += 1;
        done.items += order.items.len() as u64;
    }
    sink.finish()?;
    Ok(done)
}

/// [`export`] from PostgreSQL: the same orders, in the same order, in one statement (one
/// snapshot), streamed; `clock` (any SQLite connection) gives their local times.
#[cfg(feature = "postgres")]
pub fn export_postgres(
    client: &mut ::postgres::Client,
    clock: &Connection,
    range: &Range,
    restaurant: Option<&str>,
    format: ExportFormat,
    out: impl Write,
) -> Result<Exported, ExportError> {
    use ::postgres::fallible_iterator::FallibleIterator;
    if let Some(r) = restaurant.filter(|r| !chit_protocol::room::valid_ident(r)) {
        return Err(ExportError::BadRestaurant(r.to_string()));
    }
    let sql = format!(
        "SELECT {ORDER_COLUMNS}, created_at FROM orders
         WHERE created_at >= $1 AND created_at < $2 AND ($3::TEXT IS NULL OR restaurant = $3)
         ORDER BY created_at, id"
    );
    let params: [&(dyn ::postgres::types::ToSql + Sync); 3] =
        [&range.start, &range.end, &restaurant];
    let mut rows = client.query_raw(&sql, params).map_err(StoreError::from)?;
    let mut local = clock.prepare(
        "SELECT date(?1 / 1000, 'unixepoch', 'localtime'),
                strftime('%Y-%m-%d %H:%M:%S', ?1 / 1000, 'unixepoch', 'localtime')",
    )?;
    let mut sink = Sink::new(format, out)?;
    let mut done = Exported::default();
    while let Some(row) = rows.next().map_err(StoreError::from)? {
        let order = crate::store::postgres::orders::order_from_row(&row)?;
        let at: i64 = row.try_get(ORDER_COLUMN_COUNT).map_err(StoreError::from)?;
        let (date, time): (String, String) =
            local.query_row([at], |r| Ok((r.get(0)?, r.get(1)?)))?;
        sink.order(&order, &date, &time)?;
        done.orders += 1;
        done.items += order.items.len() as u64;
    }
    sink.finish()?;
    Ok(done)
}

enum Sink<W: Write> {
    Csv(Box<csv::Writer<W>>),
    Jsonl(std::io::BufWriter<W>),
}

impl<W: Write> Sink<W> {
    fn new(format: ExportFormat, out: W) -> Result<Sink<W>, ExportError> {
        Ok(match format {
            ExportFormat::Csv => {
                let mut csv = csv::Writer::from_writer(out);
                csv.write_record(CSV_COLUMNS)?;
                Sink::Csv(Box::new(csv))
            }
            ExportFormat::Jsonl => Sink::Jsonl(std::io::BufWriter::new(out)),
        })
    }

    fn order(&mut self, o: &Order, date: &str, local: &str) -> Result<(), ExportError> {
        match self {
            Sink::Jsonl(out) => {
                serde_json::to_writer(&mut *out, o).map_err(std::io::Error::from)?;
                out.write_all(b"\n")?;
            }
            Sink::Csv(csv) => {
                let fulfilment = match o.fulfilment {
                    chit_protocol::Fulfilment::Delivery => "delivery",
                    chit_protocol::Fulfilment::Pickup => "pickup",
                };
                let opt = |v: &Option<String>| v.clone().unwrap_or_default();
                let order_fields = [
                    o.id.to_string(),
                    o.number.to_string(),
                    date.to_string(),
                    local.to_string(),
                    o.created_at.clone(),
                    o.updated_at.clone(),
                    o.restaurant.clone(),
                    o.status.as_str().to_string(),
                    fulfilment.to_string(),
                    o.customer.id.clone(),
                    o.customer.name.clone(),
                    o.customer.phone.clone(),
                    opt(&o.customer.address),
                    opt(&o.rider),
                    opt(&o.note),
                ];
                let total = money::format(o.total);
                for (pos, item) in o.items.iter().enumerate() {
                    let line = i64::from(item.qty).saturating_mul(item.unit_price);
                    let item_fields = [
                        (pos + 1).to_string(),
                        item.name.clone(),
                        item.qty.to_string(),
                        money::format(item.unit_price),
                        money::format(line),
                        opt(&item.note),
                        total.clone(),
                    ];
                    csv.write_record(order_fields.iter().chain(&item_fields))?;
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<(), ExportError> {
        match self {
            Sink::Csv(mut csv) => csv.flush()?,
            Sink::Jsonl(mut out) => out.flush()?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{queries, validate};
    use chit_protocol::{Fulfilment, NewCustomer, NewItem, NewOrder};

    fn place(conn: &Connection, restaurant: &str, name: &str, at: i64) -> Order {
        let order = NewOrder {
            restaurant: restaurant.into(),
            customer: NewCustomer {
                id: None,
                name: name.into(),
                phone: "0812345678".into(),
                address: Some("12 Sukhumvit, \"soi\" 3".into()),
            },
            items: vec![
                NewItem::parse("2 x ผัดไทย, กุ้ง @ 120.50").unwrap(),
                NewItem::parse("Iced tea @ 35").unwrap(),
            ],
            note: Some("ไม่ใส่ถั่ว".into()),
            fulfilment: Fulfilment::Delivery,
            ..Default::default()
        };
        let valid = validate::validate(order, None).unwrap();
        let items = queries::plain_items(&valid);
        let at = (at, chit_protocol::format_time(at));
        queries::insert_order(conn, &valid, 1, items, None, (at.0, &at.1)).unwrap()
    }

    fn memory() -> Connection {
        crate::store::open_connection(std::path::Path::new(":memory:"), false).unwrap()
    }

    #[test]
    fn dates_are_checked_and_cut_at_local_midnight() {
        let conn = memory();
        let bad = |from, to| Range::of(&conn, from, to).unwrap_err().to_string();
        assert!(bad("2026-02-30", "2026-03-01").contains("'2026-02-30' is not a date"));
        assert!(bad("2026-11-1", "2026-11-02").contains("not a date"));
        assert!(bad("yesterday", "2026-11-02").contains("not a date"));
        assert!(bad("2026-11-02", "2026-11-01").contains("is after"));
        let range = Range::of(&conn, "2026-11-01", "2026-11-01").unwrap();
        let day = queries::day_of(&conn, range.start).unwrap();
        assert_eq!((range.start, range.end), (day.start, day.end));
        assert_eq!(day.date, "2026-11-01");
        let two = Range::of(&conn, "2026-11-01", "2026-11-02").unwrap();
        assert_eq!(two.end, queries::day_of(&conn, range.end).unwrap().end);
    }

    #[test]
    fn csv_has_a_row_per_item_with_decimal_money_and_reads_back() {
        let conn = memory();
        let range = Range::of(&conn, "2026-11-01", "2026-11-02").unwrap();
        let first = place(&conn, "r1", "สมชาย ใจดี", range.start);
        place(&conn, "r2", "王小明", range.start + 1);
        place(&conn, "r1", "before", range.start - 1);
        place(&conn, "r1", "after", range.end);
        let mut out = Vec::new();
        let done = export(&conn, &range, Some("r1"), ExportFormat::Csv, &mut out).unwrap();
        assert_eq!(
            done,
            Exported {
                orders: 1,
                items: 2
            }
        );
        let mut reader = csv::Reader::from_reader(out.as_slice());
        assert_eq!(reader.headers().unwrap(), CSV_COLUMNS.as_slice());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        let field = |row: &csv::StringRecord, name: &str| {
            row[CSV_COLUMNS.iter().position(|c| *c == name).unwrap()].to_string()
        };
        assert_eq!(field(&rows[0], "order_id"), first.id.to_string());
        assert_eq!(field(&rows[0], "customer_name"), "สมชาย ใจดี");
        assert_eq!(
            field(&rows[0], "customer_address"),
            "12 Sukhumvit, \"soi\" 3"
        );
        assert_eq!(field(&rows[0], "item_name"), "ผัดไทย, กุ้ง");
        assert_eq!(field(&rows[0], "unit_price"), "120.50");
        assert_eq!(field(&rows[0], "line_total"), "241.00");
        assert_eq!(field(&rows[1], "item"), "2");
        assert_eq!(field(&rows[1], "order_total"), "276.00");
        assert_eq!(field(&rows[1], "date"), "2026-11-01");
        assert_eq!(field(&rows[1], "order_note"), "ไม่ใส่ถั่ว");

        let mut out = Vec::new();
        let all = export(&conn, &range, None, ExportFormat::Jsonl, &mut out).unwrap();
        assert_eq!(all.orders, 2);
        let orders: Vec<Order> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(orders[0], first);
        assert_eq!(orders[1].customer.name, "王小明");
    }

    #[test]
    fn a_bad_restaurant_is_refused() {
        let conn = memory();
        let range = Range::of(&conn, "2026-11-01", "2026-11-01").unwrap();
        let err = export(&conn, &range, Some("r 1"), ExportFormat::Csv, Vec::new());
        assert!(matches!(err, Err(ExportError::BadRestaurant(_))));
    }
}
