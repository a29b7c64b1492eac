//! SubscriptionConfirmation without fetching an arbitrary URL: the signed `SubscribeURL` must
//! be exactly a ConfirmSubscription call on the topic's own SNS host (or a configured test
//! host) for this message's TopicArn and Token. The gateway then calls a URL it builds itself
//! from those checked parts, so nothing the message adds (another host, path or parameter)
//! is ever requested. The URL carries the token: it is never logged.

use super::sns_cert_url::{CertUrlPolicy, TopicArn};
use url::Url;

/// ConfirmSubscription answers are a few hundred bytes.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// The ConfirmSubscription URL to call, or `None` when the SubscribeURL is anything else.
pub fn confirm_url(
    subscribe_url: &str,
    topic: &TopicArn,
    token: &str,
    policy: &CertUrlPolicy,
) -> Option<Url> {
    let u = Url::parse(subscribe_url).ok()?;
    if u.scheme() != "https"
        || !u.username().is_empty()
        || u.password().is_some()
        || u.fragment().is_some()
        || u.path() != "/"
    {
        return None;
    }
    let host = u.host_str()?;
    let authority = match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    let known = (u.port().is_none() && host.eq_ignore_ascii_case(&topic.cert_host()))
        || policy.extra_hosts.iter().any(|h| *h == authority);
    if !known {
        return None;
    }
    let pairs: Vec<(String, String)> = u.query_pairs().into_owned().collect();
    let expected = [
        ("Action", "ConfirmSubscription"),
        ("TopicArn", topic.as_str()),
        ("Token", token),
    ];
    let exact = pairs.len() == expected.len()
        && expected
            .iter()
            .all(|(k, v)| pairs.iter().any(|(pk, pv)| pk == k && pv == v));
    if !exact || token.is_empty() {
        return None;
    }
    let mut out = Url::parse(&format!("https://{authority}/")).ok()?;
    out.query_pairs_mut().extend_pairs(expected);
    Some(out)
}

/// Calls ConfirmSubscription; the error is for the log (it never names the URL).
pub async fn confirm(http: &reqwest::Client, url: Url) -> Result<(), String> {
    let mut resp = http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("request: {}", e.without_url()))?;
    let status = resp.status();
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("body: {}", e.without_url()))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err("answer too large".into());
        }
        body.extend_from_slice(&chunk);
    }
    let text = String::from_utf8_lossy(&body);
    if status != reqwest::StatusCode::OK || !text.contains("<SubscriptionArn>") {
        return Err(format!(
            "answered HTTP {} without a SubscriptionArn",
            status.as_u16()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC: &str = "arn:aws:sns:eu-central-1:123456789012:upload-events";

    fn check(url: &str, extra: &[&str]) -> Option<String> {
        let topic = TopicArn::parse(TOPIC).unwrap();
        let policy = CertUrlPolicy {
            extra_hosts: extra.iter().map(|s| s.to_string()).collect(),
        };
        confirm_url(url, &topic, "tok", &policy).map(|u| u.to_string())
    }

    #[test]
    fn only_a_confirm_call_on_the_topics_host_for_its_token_is_rebuilt() {
        let good = format!(
            "https://sns.eu-central-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=tok"
        );
        let rebuilt = check(&good, &[]).unwrap();
        assert_eq!(
            rebuilt,
            "https://sns.eu-central-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn%3Aaws%3Asns%3Aeu-central-1%3A123456789012%3Aupload-events&Token=tok"
        );
        let bad = [
            good.replace("https://", "http://"),
            good.replace("eu-central-1.amazonaws.com", "us-east-1.amazonaws.com"),
            good.replace("sns.eu-central-1", "sns.s3.eu-central-1"),
            good.replace(".com/", ".com:8443/"),
            good.replace(".com/", ".com/x"),
            good.replace("https://", "https://u@"),
            good.replace("Token=tok", "Token=other"),
            good.replace(
                "TopicArn=arn:aws:sns:eu-central-1:123456789012:upload-events",
                "TopicArn=arn:aws:sns:eu-central-1:123456789012:other",
            ),
            good.replace("ConfirmSubscription", "Unsubscribe"),
            format!("{good}&Extra=1"),
            format!("{good}#f"),
            "https://evil.example/?Action=ConfirmSubscription".into(),
        ];
        for b in bad {
            assert_eq!(check(&b, &[]), None, "{b}");
        }
        let local = good.replace("sns.eu-central-1.amazonaws.com", "127.0.0.1:8443");
        assert!(check(&local, &["127.0.0.1:8443"]).unwrap().starts_with("https://127.0.0.1:8443/?"));
        assert_eq!(check(&local, &[]), None);
    }
}
