//! The budget burn-down chart, `GET /api/v1/slos/{id}/burn.svg`: the share of the error
//! budget left over the SLO's window, from the stored per-minute buckets, as a hand-written
//! SVG (no plotting dependency). At each point the budget left is
//! `1 - (bad so far / total so far) / error budget`, the way Sloth's dashboards draw it.

use jiff::Timestamp;
use staunch_config::slos::SloDefinition;
use staunch_store::SloBucket;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 40.0;
const POINTS: i64 = 240;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Budget left (1.0 = all of it) at `POINTS` instants from the window's start to `now`;
/// `None` before the first event.
pub fn burn_down(slo: &SloDefinition, buckets: &[SloBucket], now: Timestamp) -> Vec<(Timestamp, Option<f64>)> {
    let budget = slo.objective.error_budget_ratio();
    let span = slo.period.duration().as_span();
    let start = now - span;
    let step = span / POINTS as i32;
    let mut sorted: Vec<&SloBucket> = buckets.iter().filter(|bucket| bucket.minute >= start && bucket.minute <= now).collect();
    sorted.sort_by_key(|bucket| bucket.minute);
    let (mut bad, mut total) = (0u64, 0u64);
    let mut next = sorted.into_iter().peekable();
    (1..=POINTS)
        .map(|index| {
            let at = start + step * index as i32;
            while let Some(bucket) = next.next_if(|bucket| bucket.minute <= at) {
                bad += bucket.total - bucket.good.min(bucket.total);
                total += bucket.total;
            }
            let remaining = (total > 0).then(|| 1.0 - (bad as f64 / total as f64) / budget);
            (at, remaining)
        })
        .collect()
}

pub fn render(slo: &SloDefinition, buckets: &[SloBucket], now: Timestamp) -> String {
    let points = burn_down(slo, buckets, now);
    let lowest = points.iter().filter_map(|(_, remaining)| *remaining).fold(0.0_f64, f64::min).max(-10.0);
    let (y_top, y_bottom) = (1.0_f64, lowest);
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let x = |index: usize| LEFT + plot_width * (index as f64 + 1.0) / points.len() as f64;
    let y = |value: f64| TOP + plot_height * (y_top - value.clamp(y_bottom, y_top)) / (y_top - y_bottom);
    let mut path = String::new();
    let mut pen_down = false;
    for (index, (_, remaining)) in points.iter().enumerate() {
        match remaining {
            Some(value) => {
                path.push_str(&format!("{}{:.1},{:.1} ", if pen_down { "L" } else { "M" }, x(index), y(*value)));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    let last = points.iter().rev().find_map(|(_, remaining)| *remaining);
    let caption = match last {
        Some(value) => format!("{:.1}% of the error budget left", value * 100.0),
        None => "no events yet".to_string(),
    };
    let title = format!(
        "{} — {}% over {}",
        slo.name,
        slo.objective.percent(),
        staunch_config::sloth::prom_duration(slo.period.duration())
    );
    let mut svg = String::new();
    svg.push_str(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">\n"
    ));
    svg.push_str(&format!("<title>{}</title>\n", escape(&title)));
    svg.push_str(&format!("<rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"white\"/>\n"));
    svg.push_str(&format!("<text x=\"{LEFT}\" y=\"20\" font-size=\"14\">{}</text>\n", escape(&title)));
    svg.push_str(&format!("<text x=\"{LEFT}\" y=\"34\" fill=\"#555\">{}</text>\n", escape(&caption)));
    for (value, label) in [(1.0, "100%"), (0.0, "0%")].into_iter().chain((y_bottom < 0.0).then_some((y_bottom, ""))) {
        let label = if label.is_empty() { format!("{:.0}%", value * 100.0) } else { label.to_string() };
        svg.push_str(&format!(
            "<line x1=\"{LEFT}\" y1=\"{0:.1}\" x2=\"{1}\" y2=\"{0:.1}\" stroke=\"#ccc\"/><text x=\"{2}\" y=\"{3:.1}\" text-anchor=\"end\">{label}</text>\n",
            y(value),
            WIDTH - RIGHT,
            LEFT - 6.0,
            y(value) + 4.0
        ));
    }
    let start = now - slo.period.duration().as_span();
    svg.push_str(&format!(
        "<text x=\"{LEFT}\" y=\"{0}\">{1}</text><text x=\"{2}\" y=\"{0}\" text-anchor=\"end\">{3}</text>\n",
        HEIGHT - 15.0,
        start.strftime("%Y-%m-%d %H:%M"),
        WIDTH - RIGHT,
        now.strftime("%Y-%m-%d %H:%M")
    ));
    if !path.is_empty() {
        svg.push_str(&format!("<path d=\"{}\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\"/>\n", path.trim_end()));
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use staunch_config::slos::{SliSource, SloAlert};
    use staunch_domain::slo::{AlertWindows, Objective, SloPeriod};

    fn slo() -> SloDefinition {
        SloDefinition {
            id: "checkout".into(),
            name: "checkout <availability>".into(),
            description: String::new(),
            service_id: "shop".into(),
            objective: Objective::from_percent(99.0).unwrap(),
            period: SloPeriod::Days7,
            windows: AlertWindows::defaults_for(SloPeriod::Days7),
            min_events: 1,
            source: SliSource::Push,
            labels: Default::default(),
            page_alert: SloAlert::default(),
            ticket_alert: SloAlert::default(),
        }
    }

    #[test]
    fn the_budget_burns_down_as_bad_events_arrive() {
        let now = Timestamp::from_second(1_790_000_000).unwrap();
        let day = jiff::SignedDuration::from_hours(24);
        let buckets = [
            // Day 1: 1000 events, 5 bad (half the 1% budget).
            SloBucket { minute: now - day * 6, good: 995, total: 1000 },
            // Day 4: another 1000, 15 bad: 20 of 2000 is the whole budget.
            SloBucket { minute: now - day * 3, good: 985, total: 1000 },
        ];
        let points = burn_down(&slo(), &buckets, now);
        assert_eq!(points.len(), POINTS as usize);
        assert_eq!(points[0].1, None, "nothing happened yet at the window's start");
        let at_day = |days: i64| points.iter().rev().find(|(at, _)| *at <= now - day * days as i32).and_then(|(_, value)| *value);
        assert!((at_day(5).unwrap() - 0.5).abs() < 1e-9, "{:?}", at_day(5));
        assert!(at_day(1).unwrap().abs() < 1e-9, "{:?}", at_day(1));
        let svg = render(&slo(), &buckets, now);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("checkout &lt;availability&gt;"), "names are escaped");
        assert!(svg.contains("0.0% of the error budget left"), "{svg}");
        assert!(svg.contains("<path d=\"M"));
    }
}
