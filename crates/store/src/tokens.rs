//! API tokens: only a SHA-256 of each secret is stored, so a copy of the database grants
//! nothing. Tokens are 256-bit random strings, so a plain hash (no salt, no stretching) is as
//! strong as the secret itself.

use rusqlite::{OptionalExtension, params};

use crate::error::StoreError;
use crate::sqlite::SqliteStore;
use crate::types::TokenRow;

/// Where identities live; the same backend as [`crate::Store`].
pub trait Tokens {
    /// Stores a new token's hash; returns its id. A hash already present is an error.
    fn create_token(
        &mut self,
        name: &str,
        role: &str,
        sha256: &str,
        created_at: &str,
    ) -> Result<i64, StoreError>;
    /// The live (not revoked) token with this hash.
    fn token_by_hash(&self, sha256: &str) -> Result<Option<TokenRow>, StoreError>;
    fn tokens(&self) -> Result<Vec<TokenRow>, StoreError>;
    /// Revokes a token; `false` when there is no live token with that id.
    fn revoke_token(&mut self, id: i64, at: &str) -> Result<bool, StoreError>;
}

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRow> {
    Ok(TokenRow {
        id: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        sha256: r.get(3)?,
        created_at: r.get(4)?,
        revoked_at: r.get(5)?,
    })
}

const COLUMNS: &str = "id, name, role, sha256, created_at, revoked_at";

impl Tokens for SqliteStore {
    fn create_token(
        &mut self,
        name: &str,
        role: &str,
        sha256: &str,
        created_at: &str,
    ) -> Result<i64, StoreError> {
        self.conn()
            .execute(
                "INSERT INTO tokens (name, role, sha256, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![name, role, sha256, created_at],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn().last_insert_rowid())
    }

    fn token_by_hash(&self, sha256: &str) -> Result<Option<TokenRow>, StoreError> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM tokens WHERE sha256 = ?1 AND revoked_at IS NULL"),
                [sha256],
                token_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT {COLUMNS} FROM tokens ORDER BY id"))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], token_row).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    fn revoke_token(&mut self, id: i64, at: &str) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, at],
            )
            .map_err(|e| self.err(e))?;
        Ok(n == 1)
    }
}
