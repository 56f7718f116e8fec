//! The alert message (RFC 8446 §6): a level and a description.

use crate::error::Error;
use crate::msgs::enums::AlertDescription;

/// An alert's level. TLS 1.3 ignores it except for close_notify and
/// user_canceled, but it is kept as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertLevel {
    /// warning (1)
    Warning,
    /// fatal (2)
    Fatal,
    /// Any other value.
    Unknown(u8),
}

impl AlertLevel {
    /// The value as it appears on the wire.
    pub fn to_wire(self) -> u8 {
        match self {
            AlertLevel::Warning => 1,
            AlertLevel::Fatal => 2,
            AlertLevel::Unknown(v) => v,
        }
    }

    /// The variant for a wire value.
    pub fn from_wire(v: u8) -> Self {
        match v {
            1 => AlertLevel::Warning,
            2 => AlertLevel::Fatal,
            other => AlertLevel::Unknown(other),
        }
    }
}

/// An alert message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Alert {
    /// The level.
    pub level: AlertLevel,
    /// What happened.
    pub description: AlertDescription,
}

impl Alert {
    /// Decodes an alert: exactly two bytes.
    pub fn decode(bytes: &[u8]) -> Result<Alert, Error> {
        match *bytes {
            [level, description] => Ok(Alert {
                level: AlertLevel::from_wire(level),
                description: AlertDescription::from_wire(description),
            }),
            _ => Err(Error::Decode("alert must be two bytes")),
        }
    }

    /// The two bytes on the wire.
    pub fn encode(&self) -> [u8; 2] {
        [self.level.to_wire(), self.description.to_wire()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_round_trips_every_pair() {
        for level in 0..=u8::MAX {
            for desc in 0..=u8::MAX {
                let a = Alert::decode(&[level, desc]).unwrap();
                assert_eq!(a.encode(), [level, desc]);
            }
        }
        let a = Alert::decode(&[2, 40]).unwrap();
        assert_eq!(a.level, AlertLevel::Fatal);
        assert_eq!(a.description, AlertDescription::HandshakeFailure);
    }

    #[test]
    fn alert_length_is_exactly_two() {
        for bad in [&[][..], &[1], &[1, 0, 0]] {
            assert_eq!(
                Alert::decode(bad),
                Err(Error::Decode("alert must be two bytes"))
            );
        }
    }
}
