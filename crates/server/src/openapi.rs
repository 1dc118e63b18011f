//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`, built from
//! [`crate::routes::ROUTES`] so that it cannot list a route the router lacks, or miss one.

use serde_json::{Value, json};

use crate::routes::{Access, api_routes};

pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for route in api_routes() {
        let (method, path) = (&route.method, &route.path);
        let Some(doc) = route.doc else { continue };
        let mut o = json!({
            "operationId": doc.op,
            "summary": doc.summary,
            "responses": {
                doc.ok.0.to_string(): {"description": doc.ok.1},
                "400": {"$ref": "#/components/responses/Error"},
                "401": {"$ref": "#/components/responses/Error"},
                "403": {"$ref": "#/components/responses/Error"},
            },
        });
        let body = doc.body.map(|b| b());
        match route.access {
            Access::Api(p) | Access::Console(p) => {
                o["security"] = json!([{"bearer": []}]);
                o["x-arbiter-permission"] = json!(p.as_str());
            }
            Access::Open | Access::ConsoleForm => o["security"] = json!([]),
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
