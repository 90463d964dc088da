//! Seed 000's ids: rooms and messages are UUIDs that carry Parley's
//! integer id, so that no table maps one to the other. The layout is a
//! UUID version 8 (RFC 9562, "custom"):
//!
//! - bytes 0–7: a tag per kind (a room's is not a message's), with the
//!   version nibble (8) in byte 6;
//! - bytes 8–15: the id, big-endian, with the variant bits (`10`) in the
//!   two high bits of byte 8. Parley's ids are positive and below 2^62,
//!   so those two bits are always free.
//!
//! Anything else (not a UUID, another kind's, another version) names
//! nothing: the caller answers 404.

use uuid::Uuid;

/// What an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Room,
    Message,
}

impl Kind {
    /// The first eight bytes: "fm" and the kind, then the version nibble
    /// (`0x8_`) in byte 6.
    const fn tag(self) -> [u8; 8] {
        match self {
            Kind::Room => [b'f', b'm', b'r', b'o', b'o', b'm', 0x80, 0x01],
            Kind::Message => [b'f', b'm', b'm', b's', b'g', 0x00, 0x80, 0x02],
        }
    }
}

/// The variant bits (`10`) of byte 8.
const VARIANT: u8 = 0x80;
/// The bits of byte 8 that the variant leaves to the id.
const ID_BITS: u8 = 0x3f;

/// The UUID of `id` as `kind`. Ids are positive and below 2^62 (Parley's
/// sequences never come near it); the two high bits are not kept.
pub fn encode(kind: Kind, id: i64) -> Uuid {
    debug_assert!((0..1_i64 << 62).contains(&id), "id {id} does not fit");
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&kind.tag());
    bytes[8..].copy_from_slice(&id.to_be_bytes());
    bytes[8] = (bytes[8] & ID_BITS) | VARIANT;
    Uuid::from_bytes(bytes)
}

/// The id a UUID of `kind` carries; `None` for anything else.
pub fn decode(kind: Kind, text: &str) -> Option<i64> {
    let uuid = Uuid::parse_str(text.trim()).ok()?;
    let bytes = uuid.as_bytes();
    if bytes[..8] != kind.tag() || bytes[8] & !ID_BITS != VARIANT {
        return None;
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&bytes[8..]);
    id[0] &= ID_BITS;
    let id = i64::from_be_bytes(id);
    (id > 0).then_some(id)
}

/// A room's UUID, as text.
pub fn room(id: i64) -> String {
    encode(Kind::Room, id).to_string()
}

/// A message's UUID, as text.
pub fn message(id: i64) -> String {
    encode(Kind::Message, id).to_string()
}

/// A user id as seed 000 writes it (`"sender_id": "user_id"`): Parley's
/// integer id as a decimal string.
pub fn user(id: i64) -> String {
    id.to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn ids_round_trip_through_version_8_uuids() {
        for id in [1_i64, 2, 42, 255, 256, 65_537, 1 << 40, (1 << 62) - 1] {
            for kind in [Kind::Room, Kind::Message] {
                let uuid = encode(kind, id);
                assert_eq!(uuid.get_version_num(), 8, "{uuid}");
                assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122, "{uuid}");
                assert_eq!(decode(kind, &uuid.to_string()), Some(id), "{uuid}");
                // Other spellings of the same UUID name the same thing.
                assert_eq!(decode(kind, &uuid.simple().to_string()), Some(id));
                assert_eq!(
                    decode(kind, &uuid.to_string().to_uppercase()),
                    Some(id),
                    "{uuid}"
                );
            }
        }
        assert_ne!(room(7), message(7), "the kinds differ");
        assert_ne!(room(7), room(8));
    }

    #[test]
    fn another_kind_or_a_foreign_uuid_names_nothing() {
        let message_id = message(7);
        assert_eq!(decode(Kind::Room, &message_id), None);
        assert_eq!(decode(Kind::Message, &room(7)), None);
        assert_eq!(decode(Kind::Room, &Uuid::new_v4().to_string()), None);
        assert_eq!(decode(Kind::Room, &Uuid::nil().to_string()), None);
        assert_eq!(decode(Kind::Room, "7"), None);
        assert_eq!(decode(Kind::Room, "not-a-uuid"), None);
        assert_eq!(decode(Kind::Room, ""), None);
        // The right tag with the variant bits cleared is not one of ours.
        let mut bytes = *encode(Kind::Room, 7).as_bytes();
        bytes[8] &= ID_BITS;
        assert_eq!(
            decode(Kind::Room, &Uuid::from_bytes(bytes).to_string()),
            None
        );
        // Id 0 is no row.
        assert_eq!(decode(Kind::Room, &encode(Kind::Room, 0).to_string()), None);
    }

    #[test]
    fn user_ids_are_decimal_strings() {
        assert_eq!(user(42), "42");
    }
}
