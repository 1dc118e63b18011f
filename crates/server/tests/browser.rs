//! The analyst console in a real browser: headless Debian Chromium driven over WebDriver
//! (chromedriver) against the server running in-process on a loopback port.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (`scripts/setup` installs the Debian
//! packages `chromium` and `chromium-driver`). Without them the test says so and passes,
//! unless `ARBITER_REQUIRE_BROWSER=1` (CI), where it fails. With `ARBITER_SCREENSHOTS=DIR` it
//! saves `queue.png`, `alert.png` and `alert-uncertain.png` in DIR.

mod common;

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use arbiter_server::Role;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long one page element may take to appear (a bound, not a performance claim).
const WAIT: Duration = Duration::from_secs(10);

/// chromedriver, started in a process group of its own so that dropping this (also while a
/// failed assertion unwinds) ends it and the Chromium it started.
struct Driver {
    child: Child,
}

impl Driver {
    fn start(port: u16) -> Driver {
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {CHROMEDRIVER}: {e}"));
        Driver { child }
    }

    /// Waits (bounded) until chromedriver accepts connections on `port`.
    fn wait_ready(&mut self, port: u16) {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        for _ in 0..200 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("chromedriver exited before it was ready: {status}");
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("chromedriver did not listen on port {port}");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver and the browser processes it started (by group id,
        // which is chromedriver's own pid).
        let pgid = self.child.id();
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{pgid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the browser is here; otherwise skip, or fail when CI requires it.
fn browser_available() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "browser test skipped: {} not found (install the Debian packages chromium and \
         chromium-driver: scripts/setup does)",
        missing.join(" and ")
    );
    if std::env::var("ARBITER_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
        panic!("ARBITER_REQUIRE_BROWSER=1 but the {msg}");
    }
    eprintln!("{msg}");
    false
}

fn free_port() -> u16 {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn connect(port: u16, profile: &Path) -> Client {
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1400,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
    });
    let Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_or_else(|e| panic!("could not start a Chromium session through chromedriver: {e}"))
}

/// Where to save screenshots, when asked.
fn screenshot_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("ARBITER_SCREENSHOTS").filter(|d| !d.is_empty())?;
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    Some(dir)
}

/// Saves the window (1400×1000) as `name`, or with `full_page` the whole page (the window is
/// grown, bounded, to the page's height for the shot).
async fn screenshot(c: &Client, name: &str, full_page: bool) {
    let Some(dir) = screenshot_dir() else { return };
    if full_page {
        for _ in 0..3 {
            let dims = c
                .execute(
                    "return [document.documentElement.scrollHeight, window.innerHeight, \
                     window.outerHeight];",
                    vec![],
                )
                .await
                .unwrap();
            let h = |i: usize| dims[i].as_u64().unwrap_or(1000);
            let (page, inner, outer) = (h(0), h(1), h(2));
            if inner >= page || outer >= 6000 {
                break;
            }
            let want = (outer + page - inner).min(6000) as u32;
            c.set_window_size(1400, want).await.unwrap();
        }
    }
    let png = c.screenshot().await.unwrap();
    if full_page {
        c.set_window_size(1400, 1000).await.unwrap();
    }
    assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
    let path = dir.join(name);
    std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    eprintln!("browser: saved {}", path.display());
}

async fn wait_for(c: &Client, css: &str) -> Element {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} on the page within {WAIT:?}: {e}"))
}

/// Waits (bounded) until the browser is on a URL containing `part`.
async fn wait_url(c: &Client, part: &str) -> String {
    let mut last = None;
    for _ in 0..100 {
        let u = c.current_url().await.unwrap().to_string();
        if u.contains(part) {
            return u;
        }
        last = Some(u);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body = c
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap_or_default();
    panic!("the browser never reached a URL with {part:?}; it is on {last:?} showing:\n{body}");
}

async fn text(c: &Client, css: &str) -> String {
    wait_for(c, css).await.text().await.unwrap()
}

/// Timeline items of the open alert page as (kind, actor, reason code, note).
async fn timeline(c: &Client) -> Vec<(String, String, Option<String>, Option<String>)> {
    wait_for(c, "ol#timeline").await;
    let mut out = Vec::new();
    for li in c
        .find_all(Locator::Css("ol#timeline li.timeline-item"))
        .await
        .unwrap()
    {
        let kind = li.attr("data-kind").await.unwrap().unwrap_or_default();
        let actor = li
            .find(Locator::Css(".actor"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let reason = match li.find(Locator::Css(".reason-code code")).await {
            Ok(e) => Some(e.text().await.unwrap()),
            Err(_) => None,
        };
        let note = match li.find(Locator::Css(".note")).await {
            Ok(e) => Some(e.text().await.unwrap()),
            Err(_) => None,
        };
        out.push((kind, actor, reason, note));
    }
    out
}

async fn api_alert(s: &common::Server, id: i64) -> Value {
    let r = common::get(
        &s.app,
        &format!("/api/v1/alerts/{id}"),
        &s.tokens[&Role::Viewer],
    )
    .await;
    assert!(
        r.status.is_success(),
        "GET /api/v1/alerts/{id}: {} {}",
        r.status,
        r.text
    );
    r.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_logs_in_approves_one_alert_overrides_another_and_sees_both_in_the_timeline() {
    if !browser_available() {
        return;
    }

    // The server, in-process on a loopback port, with the fixture's test alerts triaged.
    let s = common::server();
    let report = common::ingest(&s, &common::fixture().alerts).await;
    let ingested = report["alerts"]
        .as_array()
        .expect("ingest report has alerts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(arbiter_server::serve(listener, s.app.clone(), async move {
        let _ = stopped.await;
    }));

    // Which alerts to use, from the ingest report and the API.
    let open_with_action = |a: &&Value| {
        matches!(a["state"].as_str(), Some("pending_approval" | "analyst"))
            && a["action"].is_string()
            && a["id"].is_i64()
    };
    let mut to_approve = None;
    for a in ingested.iter().filter(open_with_action).take(200) {
        let id = a["id"].as_i64().unwrap();
        let d = api_alert(&s, id).await;
        if d["action"]["needs_two_approvals"] == json!(false) {
            to_approve = Some(id);
            break;
        }
    }
    let to_approve = to_approve
        .expect("the fixture has an open alert whose recommended action one analyst can approve");
    let to_override = ingested
        .iter()
        .filter(open_with_action)
        .map(|a| a["id"].as_i64().unwrap())
        .find(|&id| id != to_approve)
        .expect("the fixture has a second open alert");
    let uncertain = ingested
        .iter()
        .filter(|a| a["flags"].as_array().is_some_and(|f| !f.is_empty()) && a["id"].is_i64())
        .map(|a| a["id"].as_i64().unwrap())
        .find(|&id| id != to_approve && id != to_override)
        .expect("the fixture has an alert with uncertainty flags");

    // The browser. Declared before the driver so the profile outlives the processes using it.
    let profile = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut driver = Driver::start(port);
    driver.wait_ready(port);
    let c = connect(port, profile.path()).await;

    // Signing in: the queue without a cookie sends the browser to the login form.
    c.goto(&format!("{base}/queue")).await.unwrap();
    wait_url(&c, "/login").await;
    wait_for(&c, "#login-form").await;
    wait_for(&c, "#token")
        .await
        .send_keys(&s.tokens[&Role::Analyst])
        .await
        .unwrap();
    wait_for(&c, "#login-submit").await.click().await.unwrap();
    wait_url(&c, "/queue").await;
    let cookie = c.get_named_cookie("arbiter_token").await.unwrap();
    assert_eq!(
        cookie.http_only(),
        Some(true),
        "the token cookie must be HttpOnly"
    );
    let from_script = c.execute("return document.cookie;", vec![]).await.unwrap();
    assert!(
        !from_script.as_str().unwrap_or("").contains("arbiter_token"),
        "page scripts must not see the token: {from_script}"
    );

    // The queue has rows, each linking to its alert.
    wait_for(&c, "table#queue").await;
    let rows = c
        .find_all(Locator::Css("table#queue tr.alert-row"))
        .await
        .unwrap();
    assert!(!rows.is_empty(), "the queue shows no alerts after ingest");
    for row in rows.iter().take(5) {
        assert!(row.attr("data-id").await.unwrap().is_some());
        assert!(row.find(Locator::Css("a.alert-link")).await.is_ok());
    }
    screenshot(&c, "queue.png", false).await;

    // The filter form narrows the queue by tier.
    wait_for(&c, "#filter-tier")
        .await
        .select_by_value("analyst")
        .await
        .unwrap();
    wait_for(&c, "#filter-submit").await.click().await.unwrap();
    wait_url(&c, "tier=analyst").await;
    wait_for(&c, "#queue-filter").await;
    let filtered = c.find_all(Locator::Css("tr.alert-row")).await.unwrap();
    assert!(!filtered.is_empty() || c.find(Locator::Css("p#queue-empty")).await.is_ok());
    for row in &filtered {
        assert_eq!(
            row.attr("data-tier").await.unwrap().as_deref(),
            Some("analyst")
        );
    }

    // Uncertainty is shown, not hidden: an alert with flags carries the banner.
    c.goto(&format!("{base}/alerts/{uncertain}")).await.unwrap();
    let banner = wait_for(&c, "#uncertain-banner").await;
    assert!(
        banner.is_displayed().await.unwrap(),
        "the uncertainty banner is not displayed"
    );
    assert!(banner.text().await.unwrap().contains("Uncertain"));
    screenshot(&c, "alert-uncertain.png", true).await;

    // One click approves the recommended action.
    c.goto(&format!("{base}/alerts/{to_approve}"))
        .await
        .unwrap();
    wait_for(&c, "section#verdict").await;
    wait_for(&c, "#why").await;
    wait_for(&c, "section#action").await;
    assert!(
        c.find(Locator::Css("#four-eyes")).await.is_err(),
        "alert {to_approve} was chosen as needing one approval but shows four eyes"
    );
    screenshot(&c, "alert.png", true).await;
    wait_for(&c, "button#approve").await.click().await.unwrap();
    wait_url(&c, &format!("/alerts/{to_approve}?done=approve")).await;
    let flash = text(&c, ".flash").await;
    assert!(
        flash.starts_with("Approved."),
        "flash after approving: {flash:?}"
    );
    let items = timeline(&c).await;
    assert!(
        items
            .iter()
            .any(|(k, a, _, _)| k == "approval" && a == "analyst:analyst"),
        "no approval by analyst:analyst in the timeline: {items:?}"
    );
    assert!(
        c.find(Locator::Css("#no-controls")).await.is_ok(),
        "a decided alert still shows decision controls"
    );

    // Override another alert with a reason code, a note and a corrected label.
    let note = "browser test: the host is a known scanner, not an intrusion";
    c.goto(&format!("{base}/alerts/{to_override}"))
        .await
        .unwrap();
    wait_for(&c, "#override-form").await;
    wait_for(&c, "#decision-action")
        .await
        .select_by_value("override")
        .await
        .unwrap();
    let reason_select = wait_for(&c, "#reason-code").await;
    reason_select.select_by_index(1).await.unwrap();
    let reason = reason_select
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        !reason.is_empty(),
        "the reason-code select offers no reason"
    );
    let label_select = wait_for(&c, "#label").await;
    label_select.select_by_index(1).await.unwrap();
    let label = label_select
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(!label.is_empty(), "the label select offers no label");
    wait_for(&c, "#note").await.send_keys(note).await.unwrap();
    wait_for(&c, "#override-submit")
        .await
        .click()
        .await
        .unwrap();
    wait_url(&c, &format!("/alerts/{to_override}?done=override")).await;
    let flash = text(&c, ".flash").await;
    assert!(
        flash.starts_with("Overridden."),
        "flash after overriding: {flash:?}"
    );
    let items = timeline(&c).await;
    assert!(
        items.iter().any(|(k, a, r, n)| k == "override"
            && a == "analyst:analyst"
            && r.as_deref() == Some(reason.as_str())
            && n.as_deref() == Some(note)),
        "no override by analyst:analyst with reason {reason:?} and the note in the timeline: \
         {items:?}"
    );

    // Both decisions taught the model: the Teaching page lists them with their provenance.
    wait_for(&c, "a.nav-teaching").await.click().await.unwrap();
    wait_url(&c, "/teaching").await;
    wait_for(&c, "#teaching").await;
    let rows = c
        .find_all(Locator::Css("#teaching tr.example"))
        .await
        .unwrap();
    let mut seen = Vec::new();
    for r in &rows {
        seen.push(r.text().await.unwrap());
    }
    let over_key = api_alert(&s, to_override).await["alert"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    let approve_key = api_alert(&s, to_approve).await["alert"]["key"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        seen.iter()
            .any(|t| t.contains(&over_key) && t.contains(&label) && t.contains(&reason)),
        "the override's example (label {label}, reason {reason}) is not listed: {seen:?}"
    );
    assert!(
        seen.iter()
            .any(|t| t.contains(&approve_key) && t.contains("analyst_confirm")),
        "the approval's confirming example is not listed: {seen:?}"
    );
    assert!(
        text(&c, "#teaching-counts").await.contains("examples"),
        "no counts on the Teaching page"
    );
    assert!(
        c.find(Locator::Css(".release-form")).await.is_err(),
        "an analyst is offered a release form"
    );
    screenshot(&c, "teaching.png", true).await;

    c.close().await.unwrap();
    drop(driver);
    drop(profile);

    // Both decisions are on the record, as the API (a viewer) sees them.
    let a = api_alert(&s, to_approve).await;
    assert_eq!(a["alert"]["state"], "approved", "{a}");
    assert!(
        a["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["kind"] == "approve"
                && d["actor"] == "analyst:analyst"
                && d["audit_index"].is_u64()),
        "{}",
        a["decisions"]
    );
    assert!(
        a["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["kind"] == "approval")
    );
    let o = api_alert(&s, to_override).await;
    assert_eq!(o["alert"]["state"], "overridden", "{o}");
    assert!(
        o["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["kind"] == "override"
                && d["actor"] == "analyst:analyst"
                && d["reason_code"] == json!(reason)
                && d["note"] == note),
        "{}",
        o["decisions"]
    );
    assert!(
        o["feedback"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["label"] == json!(label)),
        "{}",
        o["feedback"]
    );
    assert!(
        o["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["kind"] == "override")
    );

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// Signs `token` in on a fresh session (after signing out, if someone was signed in).
async fn sign_in(c: &Client, base: &str, token: &str) {
    if c.find(Locator::Css("#logout")).await.is_ok() {
        wait_for(c, "#logout").await.click().await.unwrap();
        wait_url(c, "/login").await;
    }
    c.goto(&format!("{base}/login")).await.unwrap();
    wait_for(c, "#token").await.send_keys(token).await.unwrap();
    wait_for(c, "#login-submit").await.click().await.unwrap();
    wait_url(c, "/queue").await;
}

/// The state the Models page shows for model `id` (its row's `data-state`).
async fn row_state(c: &Client, id: &str) -> String {
    let css = format!("#model-{}", id.trim_start_matches("sha256:"));
    wait_for(c, &css)
        .await
        .attr("data-state")
        .await
        .unwrap()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_admins_promote_a_gated_candidate_on_the_models_page_and_one_rolls_it_back() {
    if !browser_available() {
        return;
    }
    let s = common::lifecycle::server();
    let dana = common::lifecycle::second_admin(&s).await;
    let (champion, id) = common::lifecycle::gated_twin(&s).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(arbiter_server::serve(listener, s.app.clone(), async move {
        let _ = stopped.await;
    }));
    let profile = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut driver = Driver::start(port);
    driver.wait_ready(port);
    let c = connect(port, profile.path()).await;
    let row_of = |id: &str| format!("#model-{}", id.trim_start_matches("sha256:"));

    // An analyst sees the registry and its gate reports, and no lifecycle buttons.
    sign_in(&c, &base, &s.tokens[&Role::Analyst]).await;
    wait_for(&c, "a.nav-models").await.click().await.unwrap();
    wait_url(&c, "/models").await;
    assert_eq!(row_state(&c, &champion).await, "champion");
    assert_eq!(row_state(&c, &id).await, "candidate");
    let gate = text(&c, &format!("{} .gate", row_of(&id))).await;
    assert_eq!(gate, "passed", "the candidate's latest gate report");
    assert!(
        c.find(Locator::Css(".model-form")).await.is_err(),
        "an analyst is offered a lifecycle form"
    );

    // The first admin asks; the page says a second admin is needed and offers no approval to her.
    sign_in(&c, &base, &s.tokens[&Role::Admin]).await;
    c.goto(&format!("{base}/models")).await.unwrap();
    wait_for(&c, &format!("{} button.promote", row_of(&id)))
        .await
        .click()
        .await
        .unwrap();
    wait_url(&c, "/models?done=asked").await;
    assert!(text(&c, ".flash").await.contains("second, different admin"));
    assert!(
        text(&c, &format!("{} .promotion", row_of(&id)))
            .await
            .contains("needs a second admin")
    );
    assert!(
        c.find(Locator::Css(&format!("{} button.promote", row_of(&id))))
            .await
            .is_err(),
        "the admin who asked is offered the approval too"
    );
    assert_eq!(s.app.model().id, champion);
    screenshot(&c, "models.png", true).await;

    // The second admin approves: the candidate is champion in the running server at once.
    sign_in(&c, &base, &dana).await;
    c.goto(&format!("{base}/models")).await.unwrap();
    wait_for(&c, &format!("{} button.promote", row_of(&id)))
        .await
        .click()
        .await
        .unwrap();
    wait_url(&c, "/models?done=promoted").await;
    assert_eq!(row_state(&c, &id).await, "champion");
    assert_eq!(row_state(&c, &champion).await, "retired");
    assert_eq!(s.app.model().id, id);

    // Rollback restores the champion before.
    wait_for(&c, "#rollback").await.click().await.unwrap();
    wait_url(&c, "/models?done=rolled_back").await;
    assert_eq!(row_state(&c, &champion).await, "champion");
    assert_eq!(row_state(&c, &id).await, "retired");
    assert_eq!(s.app.model().id, champion);

    c.close().await.unwrap();
    drop(driver);
    drop(profile);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
