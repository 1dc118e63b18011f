//! A package as readable text for a terminal: the one-line why and what to check first, then
//! the detail.

use std::fmt::Write;

use arbiter_core::EvidencePackage;

use crate::drivers::{number, prob};

/// Renders one package.
pub fn text(p: &EvidencePackage) -> String {
    let mut s = String::new();
    let v = &p.verdict;
    let _ = writeln!(s, "== {} ({}:{})", p.alert_id, p.source.file, p.source.line);
    let _ = writeln!(s, "WHY    {}", p.summary.why);
    let _ = writeln!(s, "CHECK  {}", p.summary.check_next);
    let (lo, hi) = (prob(v.interval[0]), prob(v.interval[1]));
    let members = if lo == hi {
        format!("members all {lo}")
    } else {
        format!("members {lo} to {hi}")
    };
    let caveat = if p.uncertainty.flags.is_empty() {
        String::new()
    } else {
        " — uncertain: do not take it at face value".to_string()
    };
    let _ = writeln!(
        s,
        "VERDICT {}{caveat}",
        arbiter_core::display::verdict_words(v.p_malicious)
    );
    let _ = writeln!(
        s,
        "score  p(malicious) {} [{members}], conformal set {{{}}} at α={}, OOD {:.2}, stability {:.2}",
        prob(v.p_malicious),
        v.conformal_set
            .iter()
            .map(|x| format!("{x:?}").to_lowercase())
            .collect::<Vec<_>>()
            .join(", "),
        v.alpha,
        p.uncertainty.ood_score,
        p.uncertainty.stability
    );
    let (e, a) = (&p.uncertainty.epistemic, &p.uncertainty.aleatoric);
    let _ = writeln!(
        s,
        "epistemic {} (members disagree {:.3} bits, distance {:.2}): {}",
        e.level, e.disagreement, e.distance, e.meaning
    );
    let _ = writeln!(
        s,
        "aleatoric {} (entropy {:.2} bits{}): {}",
        a.level,
        a.entropy,
        if a.both_verdicts {
            ", both verdicts plausible"
        } else {
            ""
        },
        a.meaning
    );
    if !p.uncertainty.flags.is_empty() {
        let f: Vec<&str> = p.uncertainty.flags.iter().map(|f| f.as_str()).collect();
        let _ = writeln!(s, "flags  {}", f.join(", "));
    }
    let _ = writeln!(s, "drivers");
    for d in &p.drivers {
        let _ = writeln!(s, "  {:+.3}  {}", d.contribution, d.text);
    }
    let _ = writeln!(s, "hypotheses");
    for h in &p.hypotheses {
        let pro: Vec<&str> = h.evidence_for.iter().map(|e| e.text.as_str()).collect();
        let con: Vec<&str> = h.against.iter().map(|e| e.text.as_str()).collect();
        let _ = writeln!(s, "  {:<18} {}", h.name, prob(h.p));
        if !pro.is_empty() {
            let _ = writeln!(s, "      for:     {}", pro.join("; "));
        }
        if !con.is_empty() {
            let _ = writeln!(s, "      against: {}", con.join("; "));
        }
    }
    let _ = writeln!(s, "counterfactual  {}", p.counterfactual.statement);
    let _ = writeln!(
        s,
        "falsify  {} (because {})",
        p.falsify.check, p.falsify.because
    );
    if p.similar_cases.cases.is_empty() {
        let note = p.similar_cases.note.as_deref().unwrap_or("none found");
        let _ = writeln!(s, "similar  {note}");
    } else {
        let _ = writeln!(
            s,
            "similar  from {}",
            p.similar_cases.store.as_deref().unwrap_or("store")
        );
        for c in &p.similar_cases.cases {
            let _ = writeln!(
                s,
                "  {} resolved {} ({}) at distance {}",
                c.alert_id,
                c.resolution,
                c.category,
                number(c.distance)
            );
        }
    }
    let pv = &p.provenance;
    let _ = writeln!(
        s,
        "seen   {}/{} features{}{}; not model inputs: {}; bundle {}, schema {}, calibration {}",
        pv.features_present,
        pv.features_expected,
        if pv.missing.is_empty() {
            String::new()
        } else {
            format!(" (missing: {})", pv.missing.join(", "))
        },
        if pv.unseen_values.is_empty() {
            String::new()
        } else {
            format!(" (never seen: {})", pv.unseen_values.join(", "))
        },
        if pv.not_model_inputs.is_empty() {
            "none".to_string()
        } else {
            pv.not_model_inputs.join(", ")
        },
        pv.bundle,
        pv.schema,
        pv.calibration
    );
    if let Some(l) = &p.observed_label {
        let _ = writeln!(s, "truth  {l} (from the data; never a model input)");
    }
    s
}
