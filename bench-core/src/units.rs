//! Units of measurement as type aliases, and the one duration syntax of flags, matrix files
//! and `results.json`.

use std::time::Duration;

/// Microseconds.
pub type Micros = f64;
/// Milliseconds.
pub type Millis = f64;
/// Seconds.
pub type Seconds = f64;
/// A count of bytes.
pub type Bytes = u64;
/// Percent: 100.0 is one whole, so a CPU at 150.0 % used one and a half cores.
pub type Percent = f64;
/// Requests per second.
pub type RequestsPerSec = f64;

/// Parses a human duration such as `10s`, `500ms`, `1m 30s` (humantime's syntax), the form
/// durations take in flags, matrix files and `results.json`. The error says what was wrong
/// and shows an example; callers add which flag or key it came from.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        format!("invalid duration \"{text}\" ({e}): write it like \"10s\" or \"500ms\"")
    })
}

/// Formats a duration the way [`parse_duration`] reads it back: `10s`, `1m 30s`, `250ms`.
pub fn format_duration(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// `#[serde(with = "crate::units::duration_text")]`: a [`Duration`] as its human text.
pub(crate) mod duration_text {
    use std::time::Duration;

    use std::fmt;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*d))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = Duration;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration with its unit, like \"10s\" or \"500ms\"")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
                super::parse_duration(text).map_err(E::custom)
            }
        }
        d.deserialize_str(Text)
    }
}

/// Like [`duration_text`], for an optional duration (absent key → `None`).
pub(crate) mod opt_duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        #[derive(Deserialize)]
        struct Text(#[serde(with = "super::duration_text")] Duration);
        Ok(Option::<Text>::deserialize(d)?.map(|Text(d)| d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip_through_their_text() {
        for text in ["10s", "500ms", "1m 30s", "3s"] {
            let d = parse_duration(text).unwrap();
            assert_eq!(format_duration(d), text);
        }
        assert_eq!(parse_duration(" 2s ").unwrap(), Duration::from_secs(2));
    }

    #[test]
    fn a_bad_duration_says_how_to_write_one() {
        let err = parse_duration("10").unwrap_err();
        assert!(err.contains("\"10\""), "{err}");
        assert!(err.contains("\"10s\""), "{err}");
    }
}
