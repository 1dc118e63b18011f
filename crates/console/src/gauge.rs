//! The confidence display: a band per confidence level (class, words and gauge), so that a
//! 51 % and a 99 % verdict never look alike, and uncertainty flags in plain words.

use crate::layout::{class_token, escape, fmt_p};

pub(crate) use arbiter_core::display::Band;

/// The CSS class of a band: `conf-coinflip`, `conf-weak`, `conf-strong` or `conf-certain`.
pub(crate) fn band_class(b: Band) -> String {
    format!("conf-{}", b.token())
}

/// "coin flip — 51 % malicious", escaped: [`arbiter_core::display::verdict_words`].
pub(crate) fn words(p: f64) -> String {
    escape(&arbiter_core::display::verdict_words(p))
}

fn pos(x: f64) -> f64 {
    if x.is_nan() {
        50.0
    } else {
        (x.clamp(0.0, 1.0) * 100.0 * 10.0).round() / 10.0
    }
}

/// The gauge as inline SVG (no style attributes, so a strict CSP holds): the 0.4–0.6 coin-flip
/// band shaded and hatched, the member interval as a range, the calibrated p as a marker.
pub(crate) fn gauge_svg(p: f64, interval: Option<[f64; 2]>, compact: bool) -> String {
    let mut s = format!(
        concat!(
            "<svg class=\"gauge{}\" viewBox=\"0 0 100 12\" preserveAspectRatio=\"none\" ",
            "role=\"img\" aria-label=\"p(malicious) {} — {}\">",
            "<rect class=\"g-track\" x=\"0\" y=\"0\" width=\"100\" height=\"12\"/>",
            "<rect class=\"g-coinflip\" x=\"40\" y=\"0\" width=\"20\" height=\"12\"/>"
        ),
        if compact { " gauge-compact" } else { "" },
        fmt_p(p),
        words(p)
    );
    for i in 0..10 {
        let x = 40 + 2 * i;
        s.push_str(&format!(
            "<line class=\"g-hatch\" x1=\"{x}\" y1=\"12\" x2=\"{}\" y2=\"0\" vector-effect=\"non-scaling-stroke\"/>",
            x + 2
        ));
    }
    s.push_str("<line class=\"g-mid\" x1=\"50\" y1=\"0\" x2=\"50\" y2=\"12\" vector-effect=\"non-scaling-stroke\"/>");
    if let Some([lo, hi]) = interval {
        let (a, b) = (pos(lo.min(hi)), pos(lo.max(hi)));
        s.push_str(&format!(
            "<rect class=\"g-interval\" x=\"{a}\" y=\"3.5\" width=\"{:.1}\" height=\"5\"/>",
            (b - a).max(0.6)
        ));
    }
    let x = pos(p);
    s.push_str(&format!(
        "<rect class=\"g-marker\" x=\"{:.1}\" y=\"0\" width=\"1.6\" height=\"12\"/></svg>",
        (x - 0.8).clamp(0.0, 98.4)
    ));
    s
}

/// The confidence block: words, p, and the gauge, inside an element carrying the band class.
pub(crate) fn confidence_block(p: f64, interval: Option<[f64; 2]>, compact: bool) -> String {
    let band = Band::of(p);
    let class = band_class(band);
    let scale = if compact {
        String::new()
    } else {
        concat!(
            "<div class=\"gauge-scale\"><span>0 benign</span>",
            "<span class=\"scale-mid\">0.4–0.6 coin flip</span><span>malicious 1</span></div>"
        )
        .to_string()
    };
    format!(
        concat!(
            "<div class=\"confidence {}\" data-band=\"{}\">",
            "<span class=\"conf-words\">{}</span> <span class=\"conf-p\">p {}</span>",
            "{}{}</div>"
        ),
        class,
        band.token(),
        words(p),
        fmt_p(p),
        gauge_svg(p, interval, compact),
        scale
    )
}

/// What an uncertainty flag means, in words.
pub(crate) fn flag_words(name: &str) -> Option<&'static str> {
    Some(match name {
        "out_of_distribution" => "unlike anything seen in training",
        "missing_telemetry" => "telemetry the model reads is missing",
        "conflicting_signals" => "the ensemble members disagree, or both verdicts remain plausible",
        "low_confidence" => "the probability sits in the uncertain middle",
        "unstable_explanation" => "the members explain it with different drivers",
        _ => return None,
    })
}

/// One badge per flag: `<span class="flag flag-{name}">`, with the words as a title.
pub(crate) fn flag_badges(flags: &[String]) -> String {
    flags
        .iter()
        .map(|f| {
            let title = flag_words(f).unwrap_or("uncertainty flag");
            format!(
                "<span class=\"flag flag-{}\" title=\"{}\">⚠ {}</span>",
                class_token(f),
                title,
                escape(&f.replace('_', " "))
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_the_shared_rule_escaped() {
        assert_eq!(words(0.51), "coin flip — 51 % malicious");
        assert_eq!(words(0.99999), "near certain — &gt; 99.9 % malicious");
        assert_eq!(band_class(Band::of(0.51)), "conf-coinflip");
    }

    #[test]
    fn the_gauge_marks_p_and_draws_the_interval() {
        let svg = gauge_svg(0.25, Some([0.2, 0.4]), false);
        assert!(svg.contains("class=\"g-interval\" x=\"20\" y=\"3.5\" width=\"20.0\""));
        assert!(svg.contains("class=\"g-marker\" x=\"24.2\""));
        assert!(!svg.contains("style="));
    }
}
