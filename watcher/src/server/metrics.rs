//! HTTP metrics in Prometheus text format: requests by route and status, and a latency
//! histogram by route. Routes are bucketed into a fixed set of labels, so hostile paths
//! cannot grow the series count.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

#[derive(Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

#[derive(Default)]
pub struct HttpMetrics {
    routes: Mutex<BTreeMap<&'static str, RouteStats>>,
    /// Requests the guard refused, by reason (`host`, `cross_site`).
    refused: Mutex<BTreeMap<&'static str, u64>>,
}

/// The metrics label of a request path.
pub fn route_label(path: &str) -> &'static str {
    if path == "/admin" || path.starts_with("/admin/") {
        return "/admin";
    }
    promptshelf_core::api::route_label(path).unwrap_or("other")
}

impl HttpMetrics {
    pub fn observe(&self, route: &'static str, status: u16, took: Duration) {
        let secs = took.as_secs_f64();
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let s = routes.entry(route).or_default();
        *s.by_status.entry(status).or_default() += 1;
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                s.buckets[i] += 1;
            }
        }
        s.count += 1;
        s.sum_seconds += secs;
    }

    /// Counts a request the guard refused (see `super::guard`).
    pub fn refused(&self, reason: &'static str) {
        let mut r = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        *r.entry(reason).or_default() += 1;
    }

    /// Total requests answered so far.
    pub fn total(&self) -> u64 {
        let routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        routes.values().map(|s| s.count).sum()
    }

    pub fn render(&self, out: &mut String) {
        out.push_str("# HELP promptshelf_http_refused_total Requests refused by the Host check or as cross-site, by reason.\n");
        out.push_str("# TYPE promptshelf_http_refused_total counter\n");
        let refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        for reason in ["host", "cross_site"] {
            let n = refused.get(reason).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "promptshelf_http_refused_total{{reason=\"{reason}\"}} {n}"
            );
        }
        drop(refused);
        let routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        out.push_str("# HELP promptshelf_http_requests_total Read-API requests answered, by route and status.\n");
        out.push_str("# TYPE promptshelf_http_requests_total counter\n");
        for (route, s) in routes.iter() {
            for (status, n) in &s.by_status {
                let _ = writeln!(
                    out,
                    "promptshelf_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str(
            "# HELP promptshelf_http_request_duration_seconds Read-API request latency.\n",
        );
        out.push_str("# TYPE promptshelf_http_request_duration_seconds histogram\n");
        for (route, s) in routes.iter() {
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "promptshelf_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "promptshelf_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "promptshelf_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                s.sum_seconds
            );
            let _ = writeln!(
                out,
                "promptshelf_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                s.count
            );
        }
    }
}
