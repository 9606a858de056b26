//! Where the organisation stands against each policy in force, for the dashboard: per pack and
//! per section, the share of the subjects its checks looked at that are compliant, coloured red,
//! amber or green against the organisation's thresholds, with its course over 90 days and the
//! open findings behind it.

use std::collections::HashMap;

use chrono::NaiveDate;
use steward_policy::Pack;
use steward_service::ComplianceDay;

use crate::escape;

/// How far back a section's course is drawn.
pub(crate) const DAYS: u64 = 90;

/// One pack's or section's standing today.
pub(crate) struct Standing {
    /// The policy's title.
    pub policy: String,
    /// The policy's title, or the section's number and heading.
    pub label: String,
    /// Whole percent compliant on the latest day recorded; `None` when nothing was checked.
    pub percent: Option<i64>,
    /// `green`, `amber`, `red`, or `unchecked`.
    pub rag: &'static str,
    pub checked: i64,
    pub failing: i64,
    /// Its open findings: how many, and the findings list showing exactly those.
    pub open: usize,
    pub href: String,
    /// Its course over the last [`DAYS`] days, as inline SVG.
    pub course: String,
}

/// The colour of a share against (green, amber) thresholds.
pub(crate) fn rag(percent: Option<i64>, (green, amber): (i64, i64)) -> &'static str {
    match percent {
        None => "unchecked",
        Some(p) if p >= green => "green",
        Some(p) if p >= amber => "amber",
        Some(_) => "red",
    }
}

/// The standing of each running pack (whole) and of each of its sections that checks reach, in
/// the packs' order and the document's order of sections. `open` counts open findings by
/// (pack, section), section `""` for the whole pack.
pub(crate) fn standings(
    running: &[Pack],
    days: &[ComplianceDay],
    open: &HashMap<(String, String), usize>,
    thresholds: (i64, i64),
    today: NaiveDate,
) -> (Vec<Standing>, Vec<Standing>) {
    let mut packs = Vec::new();
    let mut sections = Vec::new();
    for pack in running {
        let mut order: Vec<&str> = Vec::new();
        for clause in &pack.clauses {
            let s = steward_policy::section_of(&clause.id);
            if !order.contains(&s) {
                order.push(s);
            }
        }
        for section in std::iter::once("").chain(order) {
            let course: Vec<&ComplianceDay> = days
                .iter()
                .filter(|d| d.pack == pack.id && d.section == section)
                .collect();
            let Some(latest) = course.last() else {
                // No check of this section has run: there is no standing to show.
                continue;
            };
            // Nor has a section whose checks found nothing to look at (a recurring task's check
            // where no task is recorded yet); a policy keeps its row, saying so.
            if !section.is_empty() && latest.checked == 0 {
                continue;
            }
            let percent = latest.percent();
            let label = if section.is_empty() {
                pack.title.clone()
            } else {
                match pack.sections.get(section) {
                    Some(title) => format!("{section}. {title}"),
                    None => format!("Section {section}"),
                }
            };
            let mut href = format!("/findings?pack={}", crate::pages::percent(&pack.id));
            if !section.is_empty() {
                href.push_str(&format!("&section={}", crate::pages::percent(section)));
            }
            let standing = Standing {
                course: sparkline(&label, &course, today),
                policy: pack.title.clone(),
                label,
                percent,
                rag: rag(percent, thresholds),
                checked: latest.checked,
                failing: latest.failing,
                open: open
                    .get(&(pack.id.clone(), section.to_owned()))
                    .copied()
                    .unwrap_or(0),
                href,
            };
            if section.is_empty() {
                packs.push(standing);
            } else {
                sections.push(standing);
            }
        }
    }
    (packs, sections)
}

/// A small line of the share compliant over the last [`DAYS`] days (0 % at the foot, 100 % at
/// the head), labelled in words for a screen reader.
fn sparkline(label: &str, course: &[&ComplianceDay], today: NaiveDate) -> String {
    let (width, height) = (120i64, 28i64);
    let first = today - chrono::Days::new(DAYS);
    let span = i64::try_from(DAYS).unwrap_or(90);
    let points: Vec<(i64, i64)> = course
        .iter()
        .filter_map(|d| {
            let p = d.percent()?;
            let x = (d.day - first).num_days().clamp(0, span) * (width - 4) / span + 2;
            let y = 2 + (height - 4) * (100 - p) / 100;
            Some((x, y))
        })
        .collect();
    let said: Vec<String> = course
        .iter()
        .filter_map(|d| Some(format!("{} % on {}", d.percent()?, d.day.format("%-d %b"))))
        .collect();
    let words = match (said.first(), said.last()) {
        (Some(a), Some(b)) if said.len() > 1 => format!("{label}: {a}, then {b}"),
        (Some(a), _) => format!("{label}: {a}"),
        _ => format!("{label}: nothing checked"),
    };
    let line: Vec<String> = points.iter().map(|(x, y)| format!("{x},{y}")).collect();
    let dot = points
        .last()
        .map(|(x, y)| format!("<circle cx=\"{x}\" cy=\"{y}\" r=\"2.5\" fill=\"#1d4f91\"></circle>"))
        .unwrap_or_default();
    format!(
        "<svg class=\"spark\" role=\"img\" aria-label=\"{w}\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\"><title>{w}</title><polyline fill=\"none\" stroke=\"#1d4f91\" stroke-width=\"2\" points=\"{}\"></polyline>{dot}</svg>",
        line.join(" "),
        w = escape(&words)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_follow_the_thresholds() {
        let t = (95, 80);
        for (p, want) in [
            (Some(100), "green"),
            (Some(95), "green"),
            (Some(94), "amber"),
            (Some(80), "amber"),
            (Some(79), "red"),
            (Some(0), "red"),
            (None, "unchecked"),
        ] {
            assert_eq!(rag(p, t), want, "{p:?}");
        }
    }
}
