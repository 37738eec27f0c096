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

    /// Every figure as JSON: backend, case, metric, unit, median, min, max, ratio.
    pub(crate) fn json(&self) -> String {
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let num = |v: f64| {
            if v.is_finite() {
                format!("{v}")
            } else {
                "null".into()
            }
        };
        let items: Vec<String> = self
            .series
            .iter()
            .map(|s| {
                let min = s.values.iter().copied().fold(f64::INFINITY, f64::min);
                let max = s.values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                format!(
                    "  {{\"backend\": \"{}\", \"row\": \"{}\", \"case\": \"{}\", \"metric\": \"{}\", \"unit\": \"{}\", \
                     \"median\": {}, \"min\": {}, \"max\": {}, \"ratio\": {}, \"samples\": {}}}",
                    esc(s.label),
                    esc(s.row),
                    esc(&s.case),
                    esc(s.metric),
                    esc(s.unit),
                    num(median(&s.values)),
                    num(min),
                    num(max),
                    self.ratio(s).map_or("null".into(), num),
                    s.values.len()
                )
            })
            .collect();
        format!("[\n{}\n]\n", items.join(",\n"))
    }
}
