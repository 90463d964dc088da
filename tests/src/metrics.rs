//! Reading `GET /metrics` (Prometheus text) in tests.

use std::collections::HashMap;

use reqwest::StatusCode;

use crate::Api;

/// The metrics text, scraped with `token`.
pub async fn scrape(api: &Api, token: Option<&str>) -> (StatusCode, String) {
    let mut request = api.client.get(format!("{}/metrics", api.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// The value of the sample `name` whose labels include `labels`, summed
/// over the samples that match (0 when none does).
pub fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, number) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
            if metric != name {
                return None;
            }
            let found: HashMap<&str, &str> = rest
                .trim_end_matches('}')
                .split(',')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (k, v.trim_matches('"')))
                .collect();
            labels
                .iter()
                .all(|(k, v)| found.get(k) == Some(v))
                .then(|| number.parse::<f64>().ok())?
        })
        .sum()
}
