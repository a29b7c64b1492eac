//! What an object's first bytes say it is (magic numbers), and whether that agrees with the
//! type it was declared as. Image dimensions come from the same bytes, for storage that does
//! not report them (`${imageInfo}` is OSS-only, and absent for STS or storage checks).

use super::upload::ImageInfo;
use serde::{Deserialize, Serialize};

/// How many leading bytes a content check reads: every magic number `infer` knows, and the
/// headers of PNG, GIF, WebP and JPEG files with ordinary metadata in front of the frame.
pub const SNIFF_BYTES: u64 = 64 * 1024;

/// What the gateway read from the stored object itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentFacts {
    /// The type the bytes show, when they show one (plain text shows none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageInfo>,
}

/// Reads the facts from the first bytes of an object.
pub fn sniff(head: &[u8]) -> ContentFacts {
    let detected = infer::get(head).map(|t| t.mime_type().to_string());
    let image = imagesize::blob_size(head).ok().map(|s| ImageInfo {
        width: u32::try_from(s.width).ok(),
        height: u32::try_from(s.height).ok(),
        format: imagesize::image_type(head)
            .ok()
            .map(|t| format!("{t:?}").to_ascii_lowercase()),
    });
    ContentFacts { detected, image }
}

/// Names several types go by; the first is what `infer` answers.
const ALIASES: &[&[&str]] = &[
    &["image/jpeg", "image/jpg", "image/pjpeg"],
    &["image/png", "image/x-png"],
    &["image/x-icon", "image/vnd.microsoft.icon"],
    &["application/zip", "application/x-zip-compressed"],
    &["audio/mpeg", "audio/mp3"],
    &["application/gzip", "application/x-gzip"],
];

fn essence(ct: &str) -> String {
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn same_type(a: &str, b: &str) -> bool {
    a == b
        || ALIASES
            .iter()
            .any(|names| names.contains(&a) && names.contains(&b))
}

/// Declared types that claim nothing about the bytes.
fn claims_nothing(declared: &str) -> bool {
    matches!(declared, "application/octet-stream" | "binary/octet-stream")
}

/// Why the bytes disagree with the declared type, if they do: they show another type, or
/// they show none although the declared type is one whose magic number is known (an
/// `image/png` that does not start like a PNG). Containers `infer` reads inside (a DOCX is a
/// ZIP) agree with the container's type too.
pub fn mismatch(declared: Option<&str>, facts: &ContentFacts) -> Option<String> {
    let declared = essence(declared?);
    if claims_nothing(&declared) {
        return None;
    }
    match &facts.detected {
        Some(d) if same_type(&declared, d) => None,
        Some(d) if declared == "application/zip" && is_zip_based(d) => None,
        Some(d) => Some(format!(
            "content is {d}, not the declared {}",
            declared.chars().take(100).collect::<String>()
        )),
        None if infer::is_mime_supported(&declared) || is_binary_image(&declared) => Some(format!(
            "content does not look like the declared {}",
            declared.chars().take(100).collect::<String>()
        )),
        None => None,
    }
}

/// Image types other than SVG (which is text) start with a magic number.
fn is_binary_image(declared: &str) -> bool {
    declared.starts_with("image/") && declared != "image/svg+xml"
}

/// Types `infer` recognises inside a ZIP container.
fn is_zip_based(detected: &str) -> bool {
    detected.starts_with("application/vnd.openxmlformats-officedocument")
        || detected.starts_with("application/vnd.oasis.opendocument")
        || detected == "application/epub+zip"
        || detected == "application/java-archive"
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_1X1: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0,
        0, 3, 0, 0, 0, 2, 8, 2, 0, 0, 0, 0x12, 0x16, 0xf1, 0x4d,
    ];

    #[test]
    fn a_png_is_a_png_with_its_dimensions() {
        let f = sniff(PNG_1X1);
        assert_eq!(f.detected.as_deref(), Some("image/png"));
        let img = f.image.clone().unwrap();
        assert_eq!((img.width, img.height), (Some(3), Some(2)));
        assert_eq!(mismatch(Some("image/png"), &f), None);
        assert_eq!(mismatch(Some("image/x-png; q=1"), &f), None);
        assert!(mismatch(Some("image/jpeg"), &f).is_some());
    }

    #[test]
    fn an_executable_or_a_pdf_declared_as_an_image_is_caught() {
        let mut mz = b"MZ".to_vec();
        mz.extend([0u8; 16]);
        let f = sniff(&mz);
        assert_eq!(
            f.detected.as_deref(),
            Some("application/vnd.microsoft.portable-executable")
        );
        let why = mismatch(Some("image/png"), &f).unwrap();
        assert!(why.contains("portable-executable"), "{why}");
        let pdf = sniff(b"%PDF-1.4\n%%EOF\n");
        assert!(mismatch(Some("image/jpeg"), &pdf).is_some());
        assert_eq!(mismatch(Some("application/pdf"), &pdf), None);
    }

    #[test]
    fn text_claims_nothing_detectable_but_an_image_must_show_its_magic() {
        let text = sniff(b"hello, world\n");
        assert_eq!(text.detected, None);
        assert_eq!(mismatch(Some("text/plain"), &text), None);
        assert_eq!(mismatch(Some("application/octet-stream"), &text), None);
        assert!(mismatch(Some("image/png"), &text).is_some());
        assert!(mismatch(Some("image/x-made-up"), &text).is_some());
        let svg = sniff(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
        assert_eq!(mismatch(Some("image/svg+xml"), &svg), None);
        assert_eq!(mismatch(None, &text), None);
    }
}
