//! Isolating rows the database refuses: a batch is written by one statement inside a savepoint;
//! when the database refuses it for a row-level reason (a value too long, a number out of
//! range, a constraint, an index row too large), the batch is halved and retried until each
//! refused row stands alone. k bad rows among n cost about 2·k·log2(n) extra statements, and
//! every good row is written. Every writer that must not lose a batch to one bad row uses this.

use futures_util::future::BoxFuture;

use crate::WarehouseError;

/// An error that may carry the database's refusal of a statement.
pub trait DbError {
    /// The database's error, when this is one.
    fn db_error(&self) -> Option<&tokio_postgres::Error>;
}

impl DbError for tokio_postgres::Error {
    fn db_error(&self) -> Option<&tokio_postgres::Error> {
        Some(self)
    }
}

impl DbError for WarehouseError {
    fn db_error(&self) -> Option<&tokio_postgres::Error> {
        match self {
            WarehouseError::Db(e) => Some(e),
            _ => None,
        }
    }
}

/// Whether `e` means the connection was lost under the statement (closed, or its backend
/// terminated by an administrator or a restart, SQLSTATE 57P01–57P03): the same statement on
/// another connection may well succeed.
pub fn connection_lost(e: &impl DbError) -> bool {
    let Some(err) = e.db_error() else { return false };
    err.is_closed() || err.code().is_some_and(|c| matches!(c.code(), "57P01" | "57P02" | "57P03"))
}

/// The database's reason when it refused a statement because of the data of some row (SQLSTATE
/// classes 22 data exception and 23 integrity violation, and 54000 such as an index row too
/// large), with the SQLSTATE: isolating the row helps. `None` for anything else (the batch
/// fails as a whole).
pub fn row_level_reason(e: &impl DbError) -> Option<String> {
    let err = e.db_error()?.as_db_error()?;
    let code = err.code().code();
    (code.starts_with("22") || code.starts_with("23") || code == "54000")
        .then(|| format!("{} (SQLSTATE {code})", err.message()))
}

/// What [`isolate`] wrote: each written chunk with its result, and each refused item with the
/// database's reason.
pub struct Isolated<T, R> {
    /// The chunks written with their results, in no particular order.
    pub written: Vec<(Vec<T>, R)>,
    /// The items refused, each alone, with the reason.
    pub refused: Vec<(T, String)>,
}

/// Writes `items` with `write` (one statement per call, over a chunk it owns and hands back
/// with the result) in `tx`, isolating the items the database refuses. The savepoint is sent
/// together with the statement (one round trip, not two); it is not released when the statement
/// succeeds: it ends with the transaction.
pub async fn isolate<'c, T, R, E, W>(
    tx: &tokio_postgres::Transaction<'_>,
    items: Vec<T>,
    mut write: W,
) -> Result<Isolated<T, R>, E>
where
    W: FnMut(Vec<T>) -> BoxFuture<'c, (Vec<T>, Result<R, E>)>,
    E: From<tokio_postgres::Error> + DbError,
{
    let mut out = Isolated { written: Vec::new(), refused: Vec::new() };
    let mut stack = vec![items];
    while let Some(chunk) = stack.pop() {
        if chunk.is_empty() {
            continue;
        }
        // `biased`: polled in this order, so the savepoint goes first.
        let (opened, (mut chunk, written)) =
            tokio::join!(biased; tx.batch_execute("SAVEPOINT isolate_rows"), write(chunk));
        opened?;
        match written {
            Ok(r) => out.written.push((chunk, r)),
            Err(e) => {
                let Some(reason) = row_level_reason(&e) else { return Err(e) };
                // Back to the savepoint just opened (the most recent of that name).
                tx.batch_execute("ROLLBACK TO SAVEPOINT isolate_rows").await?;
                if chunk.len() == 1 {
                    out.refused.push((chunk.remove(0), reason));
                } else {
                    let second = chunk.split_off(chunk.len() / 2);
                    stack.push(second);
                    stack.push(chunk);
                }
            }
        }
    }
    Ok(out)
}
