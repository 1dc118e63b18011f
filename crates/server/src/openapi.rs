//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`, built from
//! [`crate::api::ROUTES`] so that it cannot list a route the router lacks, or miss one.

use serde_json::{Value, json};

use crate::api::ROUTES;

/// `(method, path) → (operationId, summary, request body, success status and description)`.
fn describe(method: &str, path: &str) -> (&'static str, &'static str, Option<Value>, &'static str) {
    let ndjson = json!({"content": {
        "application/json": {"schema": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}},
        "application/x-ndjson": {"schema": {"type": "string", "description": "one JSON object per line"}}}});
    let decision = json!({"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DecisionRequest"}}}});
    let obj = |props: Value, req: Value| json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": props, "required": req, "additionalProperties": false}}}});
    match (method, path) {
        ("GET", "/api/v1/health") => (
            "health",
            "Liveness, model in force, pending alerts, circuit breaker",
            None,
            "the server is up (503 while draining)",
        ),
        ("GET", "/api/v1/openapi.json") => ("openapi", "This document", None, "OpenAPI 3.1"),
        ("GET", "/metrics") => (
            "metrics",
            "Prometheus metrics (text exposition format)",
            None,
            "metrics",
        ),
        ("POST", "/api/v1/alerts") => (
            "ingest",
            "Ingest one alert, an array, or an NDJSON batch; per-line error report; 429 with Retry-After when the queue is full",
            Some(ndjson),
            "alerts triaged: per line tier, state, action, audit index",
        ),
        ("GET", "/api/v1/queue") => (
            "queue",
            "Alerts awaiting a human (or in `state`), riskiest and most uncertain first; filters tier, state, category, flag, limit",
            None,
            "the queue",
        ),
        ("GET", "/api/v1/alerts/{id}") => (
            "alert",
            "One alert with its evidence package, recommended action, decisions, feedback and audit timeline",
            None,
            "the alert",
        ),
        ("POST", "/api/v1/alerts/{id}/decision") => (
            "decide",
            "Approve (four eyes for critical or irreversible actions), reject (reason code) or override (reason code and note; optional corrected label and feature)",
            Some(decision),
            "decision audited and stored",
        ),
        ("GET", "/api/v1/reason-codes") => (
            "reasonCodes",
            "Reason codes from the policy",
            None,
            "codes and labels",
        ),
        ("GET", "/api/v1/audit/checkpoint") => (
            "auditCheckpoint",
            "A fresh signed checkpoint (size, root, time; Ed25519)",
            None,
            "checkpoint",
        ),
        ("GET", "/api/v1/audit/proof/{index}") => (
            "auditProof",
            "RFC 9162 inclusion proof of an entry (query: size)",
            None,
            "proof and entry",
        ),
        ("GET", "/api/v1/audit/consistency") => (
            "auditConsistency",
            "RFC 9162 consistency proof between two sizes (query: old, new)",
            None,
            "proof",
        ),
        ("GET", "/api/v1/audit/entries/{index}") => {
            ("auditEntry", "One audit entry", None, "entry")
        }
        ("GET", "/api/v1/audit/query") => (
            "auditQuery",
            "Every entry about an entity (alert id, host:…, user:…, category:…) since a time: did the AI see this and dismiss it? (query: entity, since)",
            None,
            "entries, oldest first",
        ),
        ("GET", "/api/v1/policy") => (
            "getPolicy",
            "The policy in force",
            None,
            "policy text and hash",
        ),
        ("PUT", "/api/v1/policy") => (
            "putPolicy",
            "Replace the policy (validated, embedded tests must pass; audited first)",
            Some(obj(json!({"text": {"type": "string"}}), json!(["text"]))),
            "policy in force",
        ),
        ("GET", "/api/v1/model") => (
            "getModel",
            "The model bundle in force",
            None,
            "bundle id, calibration, risk-control table",
        ),
        ("PUT", "/api/v1/model") => (
            "putModel",
            "Switch to a bundle on the server's disk (audited first)",
            Some(obj(json!({"path": {"type": "string"}}), json!(["path"]))),
            "model in force",
        ),
        ("GET", "/api/v1/tokens") => (
            "listTokens",
            "Tokens (names, roles, dates; never secrets)",
            None,
            "tokens",
        ),
        ("POST", "/api/v1/tokens") => (
            "createToken",
            "Create a token, shown once (leads may create viewer, analyst and ingest tokens)",
            Some(obj(
                json!({"name": {"type": "string"}, "role": {"enum": ["viewer", "analyst", "lead", "admin", "ingest"]}}),
                json!(["name", "role"]),
            )),
            "token created",
        ),
        ("DELETE", "/api/v1/tokens/{id}") => ("revokeToken", "Revoke a token", None, "revoked"),
        _ => ("unknown", "", None, "ok"),
    }
}

pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for (method, path, perm) in ROUTES {
        let (op, summary, body, ok) = describe(method, path);
        let mut o = json!({
            "operationId": op,
            "summary": summary,
            "responses": {
                if *method == "POST" && *path == "/api/v1/tokens" { "201" } else { "200" }: {"description": ok},
                "400": {"$ref": "#/components/responses/Error"},
                "401": {"$ref": "#/components/responses/Error"},
                "403": {"$ref": "#/components/responses/Error"},
            },
        });
        match perm {
            Some(p) => {
                o["security"] = json!([{"bearer": []}]);
                o["x-arbiter-permission"] = json!(p.as_str());
            }
            None => o["security"] = json!([]),
        }
        for name in ["id", "index"] {
            if path.contains(&format!("{{{name}}}")) {
                o["parameters"] = json!([{"name": name, "in": "path", "required": true,
                                          "schema": {"type": "integer", "minimum": 0}}]);
            }
        }
        if let Some(b) = body {
            o["requestBody"] = b;
        }
        if *path == "/api/v1/alerts" {
            o["responses"]["413"] = json!({"$ref": "#/components/responses/Error"});
            o["responses"]["415"] = json!({"$ref": "#/components/responses/Error"});
            o["responses"]["422"] = json!({"$ref": "#/components/responses/Error"});
            o["responses"]["429"] = json!({"description": "queue full: nothing accepted; retry after `Retry-After` seconds", "headers": {"Retry-After": {"schema": {"type": "integer"}}}});
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[method.to_ascii_lowercase()] = o;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Arbiter API",
            "version": "1",
            "description": "Calibrated, explained, policy-gated decisions on SOC alerts. Every decision is appended to a tamper-evident audit log before it takes effect.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "an Arbiter API token (arb_…), created with `arbiter token create`"}},
            "responses": {"Error": {"description": "an error naming what was wrong", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
                    "code": {"type": "string"}, "message": {"type": "string"}, "detail": {}}, "required": ["code", "message"]}}},
                "DecisionRequest": {"type": "object", "additionalProperties": false, "required": ["action"], "properties": {
                    "action": {"enum": ["approve", "reject", "override"]},
                    "reason_code": {"type": "string", "description": "required for reject and override; one of GET /api/v1/reason-codes"},
                    "note": {"type": "string", "description": "required for override"},
                    "label": {"type": "string", "description": "corrected label"},
                    "feature": {"type": "string", "description": "the feature that should have mattered"}}},
            },
        },
    })
}
