//! `report.html`: one self-contained page for a person: the provenance, the tables and the
//! flags with their explanations (`results.md`, rendered), then every chart inline as SVG.
//! Nothing is loaded from the network and nothing needs JavaScript.

use std::fmt::Write as _;

use pulldown_cmark::{Options, Parser, html::push_html};

use crate::charts::{Chart, ChartKind};
use crate::results::RunResults;

/// The style of the page: readable tables, charts at most as wide as the page.
const STYLE: &str = "body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#111}\
table{border-collapse:collapse;font-size:13px;margin:1em 0}\
th,td{border:1px solid #bbb;padding:3px 6px}\
th{background:#eee}td{text-align:right}td:first-child,td:nth-child(2){text-align:left}\
figure{margin:1.5em 0}figure svg{max-width:100%;height:auto}\
figcaption{font-size:13px;color:#444}code{font-size:90%}";

/// `report.html` of `results` with `charts`.
pub fn html(results: &RunResults, charts: &[Chart]) -> String {
    let markdown = super::markdown(results);
    let mut body = String::new();
    push_html(
        &mut body,
        Parser::new_ext(&markdown, Options::ENABLE_TABLES),
    );
    let title = format!("benchlab results, {}", results.provenance.started);
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    page.push_str(&body);
    for (heading, intro, charts) in sections(charts) {
        let _ = writeln!(page, "<h2>{heading}</h2>\n<p>{}</p>", escape(intro));
        for chart in charts {
            let _ = write!(
                page,
                "<figure id=\"{}\">\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
                escape(&chart.file_name),
                chart.svg,
                escape(&chart.title)
            );
        }
    }
    page.push_str("</body>\n</html>\n");
    page
}

/// `results.md` with last sections that show every chart from `charts/`.
pub fn markdown_with_charts(results: &RunResults, charts: &[Chart]) -> String {
    let mut out = super::markdown(results);
    for (heading, intro, charts) in sections(charts) {
        let _ = writeln!(out, "## {heading}\n\n{intro}\n");
        for chart in charts {
            let _ = writeln!(out, "![{}](charts/{})\n", chart.title, chart.file_name);
        }
    }
    out
}

/// The charts in the sections a report shows them in, empty ones left out: the run's
/// charts, then one per cell second by second.
fn sections(charts: &[Chart]) -> Vec<(&'static str, &'static str, Vec<&Chart>)> {
    let (timelines, others): (Vec<&Chart>, Vec<&Chart>) =
        charts.iter().partition(|c| c.kind == ChartKind::Timeline);
    [
        (
            "Charts",
            "Whiskers are 95 % intervals of the median unless the axis says otherwise.",
            others,
        ),
        (
            "Second by second",
            "Each measured cell's repetitions end to end in round order, from oha's record of every request: the 2xx rate with failures marked, and p50 and p99 of each second.",
            timelines,
        ),
    ]
    .into_iter()
    .filter(|(_, _, charts)| !charts.is_empty())
    .collect()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
