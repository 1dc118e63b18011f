//! Every route in one table: method, path, who may call it, what a refusal says was
//! attempted, how OpenAPI describes it, and its handler. The router ([`crate::router`]), the
//! gate that authenticates and authorises each request ([`crate::access::gate`]), the OpenAPI
//! document ([`crate::openapi`]) and the authorisation tests are all built from it, so they
//! cannot drift apart.

use arbiter_core::Permission;
use axum::routing::{MethodRouter, delete, get, post, put};
use serde_json::{Value, json};

use crate::api::{admin, audit, decision, ingest, models, ops, queue, teaching, tokens};
use crate::app::App;
use crate::{console, console_models, console_teaching};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health, OpenAPI, the login page, the stylesheet.
    Open,
    /// A bearer token whose role holds the permission.
    Api(Permission),
    /// The console's session cookie, whose role holds the permission; posts must come from
    /// the console's own origin.
    Console(Permission),
    /// Console forms before sign-in (login, logout): same origin only.
    ConsoleForm,
}

/// How OpenAPI describes an API route.
#[derive(Debug, Clone, Copy)]
pub struct Doc {
    pub op: &'static str,
    pub summary: &'static str,
    /// The request body's OpenAPI description.
    pub body: Option<fn() -> Value>,
    /// Success status and what it means.
    pub ok: (u16, &'static str),
}

pub struct Route {
    pub method: &'static str,
    /// axum syntax: `/api/v1/alerts/{id}`.
    pub path: &'static str,
    pub access: Access,
    /// What was attempted, as a refusal names it: "read an alert".
    pub what: &'static str,
    /// API routes are in OpenAPI; console routes are not.
    pub doc: Option<Doc>,
    pub handler: fn() -> MethodRouter<App>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({:?})", self.method, self.path, self.access)
    }
}

const fn doc(op: &'static str, summary: &'static str, ok: &'static str) -> Option<Doc> {
    Some(Doc {
        op,
        summary,
        body: None,
        ok: (200, ok),
    })
}

const fn doc_body(
    op: &'static str,
    summary: &'static str,
    body: fn() -> Value,
    ok: (u16, &'static str),
) -> Option<Doc> {
    Some(Doc {
        op,
        summary,
        body: Some(body),
        ok,
    })
}

fn object(props: Value, required: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": {
        "type": "object", "properties": props, "required": required, "additionalProperties": false}}}})
}

fn ndjson_body() -> Value {
    json!({"content": {
        "application/json": {"schema": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}},
        "application/x-ndjson": {"schema": {"type": "string", "description": "one JSON object per line"}}}})
}

fn decision_body() -> Value {
    json!({"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DecisionRequest"}}}})
}

fn release_body() -> Value {
    object(
        json!({"reason": {"type": "string", "description": "why the label is right although the screen doubted it"}}),
        json!(["reason"]),
    )
}

fn policy_body() -> Value {
    object(json!({"text": {"type": "string"}}), json!(["text"]))
}

fn model_body() -> Value {
    object(
        json!({"id": {"type": "string", "description": "a registered model's id (sha256:…)"}}),
        json!(["id"]),
    )
}

fn register_body() -> Value {
    object(
        json!({"path": {"type": "string", "description": "a bundle directory on the server's disk"}}),
        json!(["path"]),
    )
}

fn gate_body() -> Value {
    object(
        json!({"suite": {"type": "string", "description": "a regression suite file on the server's disk"}}),
        json!(["suite"]),
    )
}

fn canary_body() -> Value {
    object(
        json!({
            "share": {"type": "number", "description": "share of alerts the canary decides, in (0, 1]"},
            "max_override_rate": {"type": "number", "description": "rolled back above this share of overridden reviewed decisions"},
            "min_reviewed": {"type": "integer", "description": "…once at least this many were reviewed"},
            "max_automated_overridden": {"type": "integer", "description": "rolled back when more automated decisions than this are found wrong"},
        }),
        json!([
            "share",
            "max_override_rate",
            "min_reviewed",
            "max_automated_overridden"
        ]),
    )
}

fn reason_body() -> Value {
    object(
        json!({"reason": {"type": "string", "description": "why (recorded)"}}),
        json!(["reason"]),
    )
}

fn token_body() -> Value {
    object(
        json!({"name": {"type": "string"}, "role": {"enum": ["viewer", "analyst", "lead", "admin", "ingest"]},
               "person": {"type": "string", "description": "who holds the token (default: its name); four eyes counts people"}}),
        json!(["name", "role"]),
    )
}

use Access::{Api, Console, ConsoleForm, Open};
use Permission::{Admin, Curate, Decide, Ingest, ManageTokens, Read};

/// The table.
pub static ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/api/v1/health",
        access: Open,
        what: "check health",
        doc: doc(
            "health",
            "Liveness, model in force, pending alerts, circuit breaker",
            "the server is up (503 while draining)",
        ),
        handler: || get(ops::health),
    },
    Route {
        method: "GET",
        path: "/api/v1/openapi.json",
        access: Open,
        what: "read the API description",
        doc: doc("openapi", "This document", "OpenAPI 3.1"),
        handler: || get(ops::openapi),
    },
    Route {
        method: "GET",
        path: "/metrics",
        access: Api(Read),
        what: "read metrics",
        doc: doc(
            "metrics",
            "Prometheus metrics (text exposition format)",
            "metrics",
        ),
        handler: || get(ops::metrics),
    },
    Route {
        method: "POST",
        path: "/api/v1/alerts",
        access: Api(Ingest),
        what: "ingest alerts",
        doc: doc_body(
            "ingest",
            "Ingest one alert, an array, or an NDJSON batch (query: source, on_error; header: \
             Idempotency-Key); per-line error report; 429 with Retry-After when the queue is full",
            ndjson_body,
            (
                200,
                "alerts triaged: per line id, key, tier, state, action, audit index",
            ),
        ),
        handler: || post(ingest::ingest),
    },
    Route {
        method: "GET",
        path: "/api/v1/queue",
        access: Api(Read),
        what: "read the queue",
        doc: doc(
            "queue",
            "Alerts awaiting a human (or in `state`), riskiest and most uncertain first; \
             filters tier, state, category, flag, new_pattern, limit",
            "the queue",
        ),
        handler: || get(queue::queue),
    },
    Route {
        method: "GET",
        path: "/api/v1/alerts/{id}",
        access: Api(Read),
        what: "read an alert",
        doc: doc(
            "alert",
            "One alert with its evidence package, recommended action, decisions, feedback and \
             audit timeline (cross-checked against the store)",
            "the alert",
        ),
        handler: || get(queue::alert),
    },
    Route {
        method: "POST",
        path: "/api/v1/alerts/{id}/decision",
        access: Api(Decide),
        what: "decide on an alert",
        doc: doc_body(
            "decide",
            "Approve (four eyes for critical or irreversible actions: two different people), \
             reject (reason code) or override (reason code and note; optional corrected label \
             and feature)",
            decision_body,
            (200, "decision audited and stored"),
        ),
        handler: || post(decision::decide),
    },
    Route {
        method: "GET",
        path: "/api/v1/teaching",
        access: Api(Read),
        what: "read the teaching set",
        doc: doc(
            "teaching",
            "Teaching examples, oldest first, each with its label provenance (source, \
             labeller and token, reason, the feature that should have mattered, model and \
             evidence-package hash) and the features it trains on; `after` and `limit` page",
            "examples, counts and the next page's `after`",
        ),
        handler: || get(teaching::list),
    },
    Route {
        method: "GET",
        path: "/api/v1/teaching/quarantine",
        access: Api(Read),
        what: "read the quarantine",
        doc: doc(
            "quarantine",
            "The poisoning screen over the teaching set: examples held back with their \
             reasons and posterior, and each labeller's estimated accuracy",
            "quarantined examples and labeller accuracy",
        ),
        handler: || get(teaching::quarantine),
    },
    Route {
        method: "POST",
        path: "/api/v1/teaching/{id}/release",
        access: Api(Curate),
        what: "release a quarantined example",
        doc: doc_body(
            "release",
            "Let a quarantined teaching example into training, with a reason (lead or admin; \
             audited)",
            release_body,
            (200, "release audited and stored"),
        ),
        handler: || post(teaching::release),
    },
    Route {
        method: "GET",
        path: "/api/v1/reason-codes",
        access: Api(Read),
        what: "read reason codes",
        doc: doc(
            "reasonCodes",
            "Reason codes from the policy",
            "codes and labels",
        ),
        handler: || get(queue::reason_codes),
    },
    Route {
        method: "GET",
        path: "/api/v1/audit/checkpoint",
        access: Api(Read),
        what: "read the audit checkpoint",
        doc: doc(
            "auditCheckpoint",
            "The latest signed checkpoint (size, root, time; Ed25519; signed every second while \
             entries arrive) and the log's current size",
            "checkpoint",
        ),
        handler: || get(audit::checkpoint),
    },
    Route {
        method: "GET",
        path: "/api/v1/audit/proof/{index}",
        access: Api(Read),
        what: "read an audit proof",
        doc: doc(
            "auditProof",
            "RFC 9162 inclusion proof of an entry (query: size, default the latest checkpoint's)",
            "proof and entry",
        ),
        handler: || get(audit::proof),
    },
    Route {
        method: "GET",
        path: "/api/v1/audit/consistency",
        access: Api(Read),
        what: "read an audit proof",
        doc: doc(
            "auditConsistency",
            "RFC 9162 consistency proof between two sizes (query: old, new)",
            "proof",
        ),
        handler: || get(audit::consistency),
    },
    Route {
        method: "GET",
        path: "/api/v1/audit/entries/{index}",
        access: Api(Read),
        what: "read an audit entry",
        doc: doc("auditEntry", "One audit entry", "entry"),
        handler: || get(audit::entry),
    },
    Route {
        method: "GET",
        path: "/api/v1/audit/query",
        access: Api(Read),
        what: "query the audit log",
        doc: doc(
            "auditQuery",
            "Entries about an entity (alert:source/id, host:…, user:…, person:…, category:…), \
             oldest first, a page at a time (query: entity, since, after, limit ≤ 1000, prove): \
             did the AI see this and dismiss it?",
            "a page of entries, with the cursor of the next and, with prove=true, inclusion \
             proofs against the latest signed checkpoint",
        ),
        handler: || get(audit::query),
    },
    Route {
        method: "GET",
        path: "/api/v1/policy",
        access: Api(Read),
        what: "read the policy",
        doc: doc("getPolicy", "The policy in force", "policy text and hash"),
        handler: || get(admin::get_policy),
    },
    Route {
        method: "PUT",
        path: "/api/v1/policy",
        access: Api(Admin),
        what: "change the policy",
        doc: doc_body(
            "putPolicy",
            "Replace the policy (validated, embedded tests must pass; audited first)",
            policy_body,
            (200, "policy in force"),
        ),
        handler: || put(admin::put_policy),
    },
    Route {
        method: "GET",
        path: "/api/v1/model",
        access: Api(Read),
        what: "read the model",
        doc: doc("getModel", "The model bundle in force", "bundle"),
        handler: || get(admin::get_model),
    },
    Route {
        method: "PUT",
        path: "/api/v1/model",
        access: Api(Admin),
        what: "change the model",
        doc: doc_body(
            "putModel",
            "Put a registered model in force by its id (re-verified on load; audited first; the \
             one before is retired)",
            model_body,
            (200, "model in force"),
        ),
        handler: || put(admin::put_model),
    },
    Route {
        method: "GET",
        path: "/api/v1/models",
        access: Api(Read),
        what: "read the model registry",
        doc: doc(
            "listModels",
            "The model registry: id, path, state, who and when",
            "models",
        ),
        handler: || get(admin::list_models),
    },
    Route {
        method: "POST",
        path: "/api/v1/models",
        access: Api(Admin),
        what: "register a model",
        doc: doc_body(
            "registerModel",
            "Register a bundle on the server's disk (verified against its content hash; audited)",
            register_body,
            (201, "model registered"),
        ),
        handler: || post(admin::register_model),
    },
    Route {
        method: "GET",
        path: "/api/v1/models/{id}",
        access: Api(Read),
        what: "read a model",
        doc: doc(
            "getRegisteredModel",
            "One registered model: state, lineage, gate reports, second opinions and, in canary, \
             how humans judged its decisions",
            "model",
        ),
        handler: || get(models::show),
    },
    Route {
        method: "GET",
        path: "/api/v1/models/{id}/diff",
        access: Api(Read),
        what: "compare models",
        doc: doc(
            "diffModels",
            "What differs from another registered model (query: against, default the champion; \
             all)",
            "differences",
        ),
        handler: || get(models::diff),
    },
    Route {
        method: "GET",
        path: "/api/v1/models/{id}/disagreements",
        access: Api(Read),
        what: "read shadow disagreements",
        doc: doc(
            "modelDisagreements",
            "Alerts where this model and the one beside it differ in tier, newest first, with both \
             packages (query: limit ≤ 1000)",
            "disagreements",
        ),
        handler: || get(models::disagreements),
    },
    Route {
        method: "POST",
        path: "/api/v1/models/{id}/gate",
        access: Api(Admin),
        what: "gate a model",
        doc: doc_body(
            "gateModel",
            "Run every promotion gate of a candidate against the champion in force and record the \
             report (audited with its hash)",
            gate_body,
            (200, "gate report"),
        ),
        handler: || post(models::gate),
    },
    Route {
        method: "POST",
        path: "/api/v1/models/{id}/shadow",
        access: Api(Admin),
        what: "start a shadow",
        doc: doc(
            "shadowModel",
            "Score live traffic with a candidate beside the champion; its decisions are recorded, \
             never acted on",
            "shadow",
        ),
        handler: || post(models::shadow),
    },
    Route {
        method: "POST",
        path: "/api/v1/models/{id}/canary",
        access: Api(Admin),
        what: "start a canary",
        doc: doc_body(
            "canaryModel",
            "Let a gated candidate decide a share of live traffic; it is retired by itself when a \
             declared bound is crossed",
            canary_body,
            (200, "canary"),
        ),
        handler: || post(models::canary),
    },
    Route {
        method: "POST",
        path: "/api/v1/models/{id}/promote",
        access: Api(Admin),
        what: "promote a model",
        doc: doc(
            "promoteModel",
            "Ask for (first admin) or approve (second, different admin) promotion to champion; the \
             latest gate report against the champion must have passed",
            "promotion asked, or promoted and in force",
        ),
        handler: || post(models::promote),
    },
    Route {
        method: "POST",
        path: "/api/v1/models/{id}/retire",
        access: Api(Admin),
        what: "retire a model",
        doc: doc_body(
            "retireModel",
            "Retire a candidate, shadow or canary",
            reason_body,
            (200, "retired"),
        ),
        handler: || post(models::retire),
    },
    Route {
        method: "POST",
        path: "/api/v1/model/rollback",
        access: Api(Admin),
        what: "roll back the model",
        doc: doc(
            "rollbackModel",
            "Retire the champion and restore the one before it, in this running server at once",
            "rolled back",
        ),
        handler: || post(models::rollback),
    },
    Route {
        method: "GET",
        path: "/api/v1/tokens",
        access: Api(ManageTokens),
        what: "list tokens",
        doc: doc(
            "listTokens",
            "Tokens: names, people, roles, dates; never secrets",
            "tokens",
        ),
        handler: || get(tokens::list),
    },
    Route {
        method: "POST",
        path: "/api/v1/tokens",
        access: Api(ManageTokens),
        what: "create a token",
        doc: doc_body(
            "createToken",
            "Create a token for a person (shown once; leads may create viewer, analyst and ingest \
             tokens)",
            token_body,
            (201, "token created"),
        ),
        handler: || post(tokens::create),
    },
    Route {
        method: "DELETE",
        path: "/api/v1/tokens/{id}",
        access: Api(ManageTokens),
        what: "revoke a token",
        doc: doc("revokeToken", "Revoke a token", "revoked"),
        handler: || delete(tokens::revoke),
    },
    // The console.
    Route {
        method: "GET",
        path: "/",
        access: Open,
        what: "open the console",
        doc: None,
        handler: || get(console::home),
    },
    Route {
        method: "GET",
        path: "/login",
        access: Open,
        what: "open the sign-in page",
        doc: None,
        handler: || get(console::login_form),
    },
    Route {
        method: "POST",
        path: "/login",
        access: ConsoleForm,
        what: "sign in to the console",
        doc: None,
        handler: || post(console::login),
    },
    Route {
        method: "POST",
        path: "/logout",
        access: ConsoleForm,
        what: "sign out of the console",
        doc: None,
        handler: || post(console::logout),
    },
    Route {
        method: "GET",
        path: "/queue",
        access: Console(Read),
        what: "read the queue",
        doc: None,
        handler: || get(console::queue),
    },
    Route {
        method: "GET",
        path: "/alerts/{id}",
        access: Console(Read),
        what: "read an alert",
        doc: None,
        handler: || get(console::alert),
    },
    Route {
        method: "POST",
        path: "/alerts/{id}/decision",
        access: Console(Decide),
        what: "decide on an alert",
        doc: None,
        handler: || post(console::decide),
    },
    Route {
        method: "GET",
        path: "/teaching",
        access: Console(Read),
        what: "read the teaching set",
        doc: None,
        handler: || get(console_teaching::teaching),
    },
    Route {
        method: "POST",
        path: "/teaching/{id}/release",
        access: Console(Curate),
        what: "release a quarantined example",
        doc: None,
        handler: || post(console_teaching::release),
    },
    Route {
        method: "GET",
        path: "/models",
        access: Console(Read),
        what: "read the model registry",
        doc: None,
        handler: || get(console_models::models_page),
    },
    Route {
        method: "POST",
        path: "/models/{id}/promote",
        access: Console(Admin),
        what: "promote a model",
        doc: None,
        handler: || post(console_models::promote),
    },
    Route {
        method: "POST",
        path: "/models/{id}/shadow",
        access: Console(Admin),
        what: "start a shadow",
        doc: None,
        handler: || post(console_models::shadow),
    },
    Route {
        method: "POST",
        path: "/models/{id}/canary",
        access: Console(Admin),
        what: "start a canary",
        doc: None,
        handler: || post(console_models::canary),
    },
    Route {
        method: "POST",
        path: "/models/{id}/retire",
        access: Console(Admin),
        what: "retire a model",
        doc: None,
        handler: || post(console_models::retire),
    },
    Route {
        method: "POST",
        path: "/models/rollback",
        access: Console(Admin),
        what: "roll back the model",
        doc: None,
        handler: || post(console_models::rollback),
    },
    Route {
        method: "GET",
        path: "/console/style.css",
        access: Open,
        what: "read the stylesheet",
        doc: None,
        handler: || get(console::style),
    },
];

/// The permission an API route needs (`None`: open), for the authorisation matrix.
pub fn api_routes() -> impl Iterator<Item = &'static Route> {
    ROUTES.iter().filter(|r| r.doc.is_some())
}
