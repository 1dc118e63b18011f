//! Versioned schema migrations, applied in order, each in its own transaction. A database
//! newer than this binary (a version it does not know) is refused rather than guessed at.

/// `(version, what it does, SQL)`. Append only: never edit a released migration.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "alerts, packages, decisions, cases, feedback, state",
        r#"
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    alert_id    TEXT NOT NULL,
    source_file TEXT NOT NULL,
    source_line INTEGER NOT NULL,
    time        TEXT,
    received_at TEXT NOT NULL,
    bundle      TEXT,
    p_malicious REAL,
    verdict     TEXT,
    category    TEXT,
    flags       TEXT NOT NULL,          -- JSON array of flag names
    risk        REAL NOT NULL,
    tier        TEXT NOT NULL,
    action      TEXT,
    state       TEXT NOT NULL,
    case_id     INTEGER NOT NULL REFERENCES cases(id)
);
CREATE INDEX alerts_queue ON alerts(state, tier, risk DESC);
CREATE INDEX alerts_alert_id ON alerts(alert_id);
CREATE TABLE packages (
    alert          INTEGER PRIMARY KEY REFERENCES alerts(id),
    schema_version TEXT NOT NULL,
    json           TEXT NOT NULL
);
CREATE TABLE decisions (
    id          INTEGER PRIMARY KEY,
    alert       INTEGER NOT NULL REFERENCES alerts(id),
    kind        TEXT NOT NULL,
    tier        TEXT NOT NULL,
    action      TEXT,
    reasons     TEXT NOT NULL,
    actor       TEXT NOT NULL,
    time        TEXT NOT NULL,
    audit_index INTEGER,
    reason_code TEXT,
    note        TEXT
);
CREATE INDEX decisions_alert ON decisions(alert);
CREATE TABLE cases (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    count       INTEGER NOT NULL,
    new_pattern INTEGER NOT NULL
);
CREATE INDEX cases_key ON cases(key, id DESC);
CREATE TABLE feedback (
    id          INTEGER PRIMARY KEY,
    alert       INTEGER NOT NULL REFERENCES alerts(id),
    actor       TEXT NOT NULL,
    time        TEXT NOT NULL,
    label       TEXT,
    reason_code TEXT NOT NULL,
    note        TEXT,
    feature     TEXT,
    audit_index INTEGER
);
CREATE TABLE state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    ),
    (
        2,
        "api tokens; action impact on alerts; time to decision",
        r#"
CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    sha256     TEXT NOT NULL UNIQUE,   -- hex SHA-256 of the token; the token itself is never stored
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
ALTER TABLE alerts ADD COLUMN impact TEXT;
ALTER TABLE alerts ADD COLUMN reversible INTEGER;
ALTER TABLE alerts ADD COLUMN blast_radius TEXT;
ALTER TABLE decisions ADD COLUMN ms_to_decision INTEGER;
"#,
    ),
    (
        3,
        "alert keys as source/id; tokens tied to a person and their minter; model registry; \
         the ledger's applied mark; the token behind each human decision",
        r#"
UPDATE alerts SET key = 'legacy/' || key;
ALTER TABLE tokens ADD COLUMN person TEXT;
UPDATE tokens SET person = name;
ALTER TABLE tokens ADD COLUMN created_by TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE decisions ADD COLUMN actor_token INTEGER;
CREATE INDEX decisions_audit ON decisions(audit_index);
CREATE TABLE models (
    id            TEXT PRIMARY KEY,
    path          TEXT NOT NULL,
    schema        TEXT NOT NULL,
    state         TEXT NOT NULL,
    registered_by TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    changed_by    TEXT NOT NULL,
    changed_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX models_one_active ON models(state) WHERE state = 'active';
CREATE TABLE ledger (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"#,
    ),
    (
        4,
        "the features each alert was scored on; the teaching set with label provenance",
        r#"
ALTER TABLE alerts ADD COLUMN features TEXT;   -- JSON object: field -> value as the model read it
CREATE TABLE examples (
    id             INTEGER PRIMARY KEY,
    alert          INTEGER NOT NULL REFERENCES alerts(id),
    source         TEXT NOT NULL,
    labeller       TEXT NOT NULL,
    labeller_token INTEGER,
    token_name     TEXT,
    time           TEXT NOT NULL,
    label          TEXT NOT NULL,
    reason_code    TEXT,
    note           TEXT,
    feature        TEXT,
    model          TEXT,
    package_sha256 TEXT,
    reference      TEXT,
    audit_index    INTEGER NOT NULL
);
CREATE INDEX examples_alert ON examples(alert);
CREATE UNIQUE INDEX examples_once ON examples(alert, source, reference) WHERE reference IS NOT NULL;
"#,
    ),
    (
        5,
        "releases of quarantined teaching examples",
        r#"
ALTER TABLE examples ADD COLUMN released_by TEXT;      -- a lead let a quarantined example into training
ALTER TABLE examples ADD COLUMN released_at TEXT;
ALTER TABLE examples ADD COLUMN release_reason TEXT;
"#,
    ),
    (
        6,
        "model lifecycle: candidate, shadow, canary, champion; lineage; gate reports; second opinions",
        r#"
UPDATE models SET state = 'candidate' WHERE state = 'registered';
UPDATE models SET state = 'champion' WHERE state = 'active';
DROP INDEX models_one_active;
CREATE UNIQUE INDEX models_one_champion ON models(state) WHERE state = 'champion';
CREATE UNIQUE INDEX models_one_challenger ON models(state) WHERE state IN ('shadow', 'canary');
ALTER TABLE models ADD COLUMN parent TEXT;                  -- the champion a retrained bundle came from
ALTER TABLE models ADD COLUMN champion_at TEXT;             -- when it last became champion (rollback order)
ALTER TABLE models ADD COLUMN canary TEXT;                  -- JSON bounds while in canary
ALTER TABLE models ADD COLUMN promotion_requested_by TEXT;  -- first admin of two (four eyes)
ALTER TABLE models ADD COLUMN promotion_requested_at TEXT;
UPDATE models SET champion_at = changed_at WHERE state = 'champion';
CREATE TABLE gates (
    id          INTEGER PRIMARY KEY,
    candidate   TEXT NOT NULL REFERENCES models(id),
    champion    TEXT NOT NULL,
    passed      INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    report      TEXT NOT NULL,
    by_actor    TEXT NOT NULL,
    at          TEXT NOT NULL,
    audit_index INTEGER NOT NULL
);
CREATE INDEX gates_candidate ON gates(candidate, id);
CREATE TABLE opinions (
    alert       INTEGER NOT NULL REFERENCES alerts(id),
    model       TEXT NOT NULL,
    role        TEXT NOT NULL,
    tier        TEXT NOT NULL,
    json        TEXT NOT NULL,                 -- the whole second opinion with its package
    audit_index INTEGER NOT NULL,
    PRIMARY KEY (alert, model)
);
CREATE INDEX opinions_model ON opinions(model, alert);
CREATE INDEX alerts_bundle ON alerts(bundle);
"#,
    ),
];
