//! Collecting figures; the table and the JSON.

use std::io::{self, Write};

struct Series {
    case: String,
    row: &'static str,
    label: &'static str,
    baseline: Option<&'static str>,
    metric: &'static str,
    unit: &'static str,
    values: Vec<f64>,
}

/// Every figure measured, by case, row and metric.
#[derive(Default)]
pub(crate) struct Report {
    series: Vec<Series>,
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add(
        &mut self,
        case: &str,
        row: &'static str,
        label: &'static str,
        baseline: Option<&'static str>,
        metric: &'static str,
        unit: &'static str,
        value: f64,
    ) {
        match self
            .series
            .iter_mut()
            .find(|s| s.case == case && s.row == row && s.metric == metric)
        {
            Some(s) => s.values.push(value),
            None => self.series.push(Series {
                case: case.to_owned(),
                row,
                label,
                baseline,
                metric,
                unit,
                values: vec![value],
            }),
        }
    }

    /// anyrt / raw: the median of the per-repetition ratios. Repetition `i` of a row ran
    /// right after repetition `i` of its baseline, so each pair saw the same machine state;
    /// the median of the pairs cancels drift better than the ratio of the two medians.
    fn ratio(&self, s: &Series) -> Option<f64> {
        let base = s.baseline?;
        let b = self
            .series
            .iter()
            .find(|o| o.case == s.case && o.row == base && o.metric == s.metric)?;
        if b.values.len() != s.values.len() {
            let (m, bm) = (median(&s.values), median(&b.values));
            return (bm != 0.0).then(|| m / bm);
        }
        let pairs: Vec<f64> = s
            .values
            .iter()
            .zip(&b.values)
            .filter(|(_, b)| **b != 0.0)
            .map(|(a, b)| a / b)
            .collect();
        (!pairs.is_empty()).then(|| median(&pairs))
    }

    /// The aligned table.
    pub(crate) fn print(&self, out: &mut impl Write) -> io::Result<()> {
        let mut cases: Vec<&str> = Vec::new();
        for s in &self.series {
            if !cases.contains(&s.case.as_str()) {
                cases.push(&s.case);
            }
        }
        for case in cases {
            writeln!(out, "\n## {case}")?;
            let rows: Vec<&Series> = self.series.iter().filter(|s| s.case == case).collect();
            let lw = rows.iter().map(|s| s.label.len()).max().unwrap_or(0);
            let mw = rows
                .iter()
                .map(|s| s.metric.len() + s.unit.len() + 3)
                .max()
                .unwrap_or(0);
            writeln!(
                out,
                "{:lw$}  {:mw$}  {:>10}  {:>23}  {:>6}",
                "row", "metric", "median", "[min, max]", "ratio"
            )?;
            for s in rows {
                let min = s.values.iter().copied().fold(f64::INFINITY, f64::min);
                let max = s.values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let metric = if s.unit.is_empty() {
                    s.metric.to_owned()
                } else {
                    format!("{} ({})", s.metric, s.unit)
                };
                let ratio = self.ratio(s).map_or(String::new(), |r| format!("{r:.3}"));
                writeln!(
                    out,
                    "{:lw$}  {:mw$}  {:>10}  {:>23}  {:>6}",
                    s.label,
                    metric,
                    fmt_num(median(&s.values)),
                    format!("[{}, {}]", fmt_num(min), fmt_num(max)),
                    ratio
                )?;
            }
        }
        Ok(())
    }

    /// Every figure as JSON (serde_json): backend, row, case, metric, unit, median, min,
    /// max, ratio (`null` where there is none), samples.
    pub(crate) fn json(&self) -> io::Result<String> {
        #[derive(serde::Serialize)]
        struct Figure<'a> {
            backend: &'a str,
            row: &'a str,
            case: &'a str,
            metric: &'a str,
            unit: &'a str,
            median: Option<f64>,
            min: Option<f64>,
            max: Option<f64>,
            ratio: Option<f64>,
            samples: usize,
        }
        let finite = |v: f64| v.is_finite().then_some(v);
        let figures: Vec<Figure<'_>> = self
            .series
            .iter()
            .map(|s| Figure {
                backend: s.label,
                row: s.row,
                case: &s.case,
                metric: s.metric,
                unit: s.unit,
                median: finite(median(&s.values)),
                min: finite(s.values.iter().copied().fold(f64::INFINITY, f64::min)),
                max: finite(s.values.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
                ratio: self.ratio(s).and_then(finite),
                samples: s.values.len(),
            })
            .collect();
        let mut out = serde_json::to_string_pretty(&figures).map_err(io::Error::other)?;
        out.push('\n');
        Ok(out)
    }

    /// The anyrt/raw (and AnyRuntime/anyrt) ratio of every figure that has one, as a bar
    /// chart: one group per case and metric, one bar per row, a line at 1.0, bars that
    /// favour anyrt in green (a higher throughput, a lower cost) and the others in red.
    pub(crate) fn svg(&self) -> String {
        const WIDTH: f64 = 760.0;
        const LABEL: f64 = 260.0;
        const BAR: f64 = 14.0;
        const GAP: f64 = 4.0;
        const HEAD: f64 = 22.0;
        let bars: Vec<(&Series, f64)> = self
            .series
            .iter()
            .filter_map(|s| Some((s, self.ratio(s).filter(|r| r.is_finite())?)))
            .collect();
        let max_ratio = bars
            .iter()
            .map(|(_, r)| *r)
            .fold(1.25f64, f64::max)
            .min(4.0);
        let scale = (WIDTH - LABEL - 60.0) / max_ratio;
        let esc = |t: &str| {
            t.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let mut body = String::new();
        let mut y = 30.0;
        let mut groups: Vec<(String, &str)> = Vec::new();
        for (s, _) in &bars {
            if !groups.iter().any(|(c, m)| *c == s.case && *m == s.metric) {
                groups.push((s.case.clone(), s.metric));
            }
        }
        for (case, metric) in &groups {
            body.push_str(&format!(
                "<text x=\"4\" y=\"{:.0}\" font-weight=\"bold\">{} — {}</text>\n",
                y + 14.0,
                esc(case),
                esc(metric)
            ));
            y += HEAD;
            for (s, r) in bars
                .iter()
                .filter(|(s, _)| s.case == *case && s.metric == *metric)
            {
                // Throughputs: higher is better; costs and times: lower is better.
                let higher_better = s.unit == "1/s";
                let good = if higher_better { *r >= 1.0 } else { *r <= 1.0 };
                let colour = if good { "#3a9a4a" } else { "#c0463c" };
                let w = (r.min(max_ratio) * scale).max(1.0);
                body.push_str(&format!(
                    "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\">{} / {}</text>\n\
                     <rect x=\"{LABEL}\" y=\"{:.0}\" width=\"{w:.1}\" height=\"{BAR}\" fill=\"{colour}\"/>\n\
                     <text x=\"{:.1}\" y=\"{:.0}\">{r:.3}</text>\n",
                    LABEL - 6.0,
                    y + BAR - 3.0,
                    esc(s.label),
                    esc(s.baseline.unwrap_or("")),
                    y,
                    LABEL + w + 4.0,
                    y + BAR - 3.0,
                ));
                y += BAR + GAP;
            }
            y += GAP * 2.0;
        }
        let one = LABEL + scale;
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{h:.0}\" \
             font-family=\"sans-serif\" font-size=\"12\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
             <text x=\"4\" y=\"16\">anyrt-bench: ratio of each row to its baseline \
             (green: in anyrt's favour; the line is 1.0)</text>\n{body}\
             <line x1=\"{one:.1}\" y1=\"26\" x2=\"{one:.1}\" y2=\"{h:.0}\" stroke=\"black\" stroke-dasharray=\"4 3\"/>\n\
             </svg>\n",
            h = y + 10.0,
        )
    }
}
