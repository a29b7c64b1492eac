//! SubscriptionConfirmation without fetching the message's `SubscribeURL`: the gateway calls
//! ConfirmSubscription itself on the topic's own SNS host (`sns.<region of the TopicArn>`,
//! the host its certificates come from), with the TopicArn (allow-listed) and Token (signed)
//! of the verified message: exactly what a genuine SubscribeURL holds. Nothing the message
//! could add (another host, path or parameter) is ever requested. The URL carries the token:
//! it is never logged.

use super::sns_cert_url::TopicArn;
use url::Url;

/// ConfirmSubscription answers are a few hundred bytes.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// The ConfirmSubscription call for this topic and token, or `None` for a token SNS would
/// not have issued (SNS tokens are long hex strings).
pub fn confirm_url(topic: &TopicArn, token: &str) -> Option<Url> {
    let plausible = !token.is_empty()
        && token.len() <= 1024
        && token.bytes().all(|b| b.is_ascii_alphanumeric());
    if !plausible {
        return None;
    }
    let mut url = Url::parse(&format!("https://{}/", topic.cert_host())).ok()?;
    url.query_pairs_mut().extend_pairs([
        ("Action", "ConfirmSubscription"),
        ("TopicArn", topic.as_str()),
        ("Token", token),
    ]);
    Some(url)
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

    #[test]
    fn the_call_goes_to_the_topics_own_host_with_its_arn_and_token() {
        let topic = TopicArn::parse("arn:aws:sns:eu-central-1:123456789012:upload-events").unwrap();
        assert_eq!(
            confirm_url(&topic, "2336abc").unwrap().as_str(),
            "https://sns.eu-central-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn%3Aaws%3Asns%3Aeu-central-1%3A123456789012%3Aupload-events&Token=2336abc"
        );
        for bad in ["", "a&b=c", "tok en", &"a".repeat(1025)] {
            assert_eq!(confirm_url(&topic, bad), None, "{bad}");
        }
    }
}
