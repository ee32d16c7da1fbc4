//! Access tokens in PostgreSQL: issued, found live by hash or id, listed, revoked.

use ::postgres::Row;
use ::postgres::types::ToSql;

use super::bad_row;
use crate::auth::Principal;
use crate::store::postgres::db::Db;
use crate::store::queries::TokenRow;
use crate::store::tx::TxResult;

pub(crate) fn token_is_live(c: &mut impl Db, token_id: i64) -> TxResult<bool> {
    let row = c.query_opt(
        "SELECT 1 FROM tokens WHERE id = $1 AND revoked_at IS NULL",
        &[&token_id],
    )?;
    Ok(row.is_some())
}

const TOKEN_COLUMNS: &str = "id, role, restaurant, rider, customer, label, created_at, revoked_at";

fn token_from_row(r: &Row) -> TxResult<TokenRow> {
    let role: &str = r.try_get(1)?;
    Ok(TokenRow {
        principal: Principal {
            token_id: r.try_get(0)?,
            role: role.parse().map_err(|e: String| bad_row("token role", e))?,
            restaurant: r.try_get(2)?,
            rider: r.try_get(3)?,
            customer: r.try_get(4)?,
            label: r.try_get(5)?,
        },
        created_at: r.try_get(6)?,
        revoked_at: r.try_get(7)?,
    })
}

pub(crate) fn insert_token(c: &mut impl Db, hash: &str, p: &Principal, now: i64) -> TxResult<i64> {
    let row = c.query_one(
        "INSERT INTO tokens (hash, role, restaurant, rider, customer, label, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        &[
            &hash,
            &p.role.as_str(),
            &p.restaurant,
            &p.rider,
            &p.customer,
            &p.label,
            &now,
        ],
    )?;
    Ok(row.try_get(0)?)
}

/// The live token whose column `by` is `value`.
fn live_token(
    c: &mut impl Db,
    by: &str,
    value: &(dyn ToSql + Sync),
) -> TxResult<Option<Principal>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE {by} = $1 AND revoked_at IS NULL");
    c.query_opt(&sql, &[value])?
        .map(|r| token_from_row(&r).map(|t| t.principal))
        .transpose()
}

/// The live (unrevoked) token with this hash.
pub(crate) fn token_by_hash(c: &mut impl Db, hash: &str) -> TxResult<Option<Principal>> {
    live_token(c, "hash", &hash)
}

/// The live (unrevoked) token with this id.
pub(crate) fn token_by_id(c: &mut impl Db, id: i64) -> TxResult<Option<Principal>> {
    live_token(c, "id", &id)
}

pub(crate) fn list_tokens(c: &mut impl Db) -> TxResult<Vec<TokenRow>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id");
    c.query(&sql, &[])?.iter().map(token_from_row).collect()
}

pub(crate) fn revoke_token(c: &mut impl Db, id: i64, now: i64) -> TxResult<bool> {
    let n = c.execute(
        "UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        &[&id, &now],
    )?;
    Ok(n == 1)
}

pub(crate) fn revoked_tokens(c: &mut impl Db) -> TxResult<Vec<i64>> {
    c.query("SELECT id FROM tokens WHERE revoked_at IS NOT NULL", &[])?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}
