//! Connect's logical types: `Decimal`, `Date`, `Time`, `Timestamp` (package
//! `org.apache.kafka.connect.data`). Each is a physical schema plus a name (and version 1);
//! converters recognise them by name.
//!
//! ```text
//!  Value::Decimal(1.50) ◀──▶ BYTES  [0x00,0x96] + parameter scale=2   (unscaled, two's complement)
//!  Value::Date(days)    ◀──▶ INT32  days since 1970-01-01
//!  Value::Time(ms)      ◀──▶ INT32  ms since midnight, 0..=86400000
//!  Value::Timestamp(ms) ◀──▶ INT64  ms since the epoch
//! ```

use bytes::Bytes;

use super::decimal::{BigDecimal, BigInt};
use super::schema::{Schema, SchemaBuilder};
use super::DataError;

/// `Decimal.LOGICAL_NAME`.
pub const DECIMAL_NAME: &str = "org.apache.kafka.connect.data.Decimal";
/// `Decimal.SCALE_FIELD`.
pub const DECIMAL_SCALE: &str = "scale";
/// `Date.LOGICAL_NAME`.
pub const DATE_NAME: &str = "org.apache.kafka.connect.data.Date";
/// `Time.LOGICAL_NAME`.
pub const TIME_NAME: &str = "org.apache.kafka.connect.data.Time";
/// `Timestamp.LOGICAL_NAME`.
pub const TIMESTAMP_NAME: &str = "org.apache.kafka.connect.data.Timestamp";
/// Milliseconds per day.
pub const MILLIS_PER_DAY: i64 = 86_400_000;

/// `Decimal.builder(scale)`: BYTES, the Decimal name, `scale` parameter, version 1.
pub fn decimal_builder(scale: i32) -> SchemaBuilder {
    SchemaBuilder::bytes()
        .name(DECIMAL_NAME)
        .parameter(DECIMAL_SCALE, scale.to_string())
        .version(1)
}

/// `Decimal.schema(scale)`.
pub fn decimal_schema(scale: i32) -> Schema {
    decimal_builder(scale).build()
}

/// `Date.builder()`: INT32 named Date, version 1.
pub fn date_builder() -> SchemaBuilder {
    SchemaBuilder::int32().name(DATE_NAME).version(1)
}

/// `Date.SCHEMA`.
pub fn date_schema() -> Schema {
    date_builder().build()
}

/// `Time.builder()`: INT32 named Time, version 1.
pub fn time_builder() -> SchemaBuilder {
    SchemaBuilder::int32().name(TIME_NAME).version(1)
}

/// `Time.SCHEMA`.
pub fn time_schema() -> Schema {
    time_builder().build()
}

/// `Timestamp.builder()`: INT64 named Timestamp, version 1.
pub fn timestamp_builder() -> SchemaBuilder {
    SchemaBuilder::int64().name(TIMESTAMP_NAME).version(1)
}

/// `Timestamp.SCHEMA`.
pub fn timestamp_schema() -> Schema {
    timestamp_builder().build()
}

/// The `scale` parameter of a Decimal schema (Decimal.scale(schema)).
pub fn decimal_scale(schema: &Schema) -> Result<i32, DataError> {
    let s = schema
        .parameter(DECIMAL_SCALE)
        .ok_or_else(|| DataError::Logical("Invalid Decimal schema: scale parameter not found.".to_owned()))?;
    s.parse()
        .map_err(|_| DataError::Logical(format!("Invalid scale parameter found in Decimal schema: {s}")))
}

/// `Decimal.fromLogical`: the unscaled value's minimal two's-complement bytes. The value's
/// scale must equal the schema's.
pub fn decimal_to_bytes(schema: &Schema, value: &BigDecimal) -> Result<Bytes, DataError> {
    let scale = decimal_scale(schema)?;
    if value.scale() != scale {
        return Err(DataError::Logical(format!(
            "Decimal value has mismatching scale for given Decimal schema. Schema has scale {scale}, value has scale {}.",
            value.scale()
        )));
    }
    Ok(Bytes::from(value.unscaled().to_twos_complement()))
}

/// `Decimal.toLogical`: bytes to a decimal with the schema's scale.
pub fn decimal_from_bytes(schema: &Schema, bytes: &[u8]) -> Result<BigDecimal, DataError> {
    let scale = decimal_scale(schema)?;
    let unscaled = BigInt::from_twos_complement(bytes)
        .ok_or_else(|| DataError::Logical("Invalid bytes for Decimal field: zero length".to_owned()))?;
    Ok(BigDecimal::new(unscaled, scale))
}

/// `Time.toLogical` range check: "Time values must use number of milliseconds greater than 0
/// and less than 86400000" (86400000 itself is accepted, as in Kafka).
pub fn check_time_millis(ms: i64) -> Result<i32, DataError> {
    if !(0..=MILLIS_PER_DAY).contains(&ms) {
        return Err(DataError::Logical(
            "Time values must use number of milliseconds greater than 0 and less than 86400000".to_owned(),
        ));
    }
    Ok(ms as i32)
}

/// `Date.fromLogical` for an epoch-millisecond instant: it must be midnight UTC.
pub fn date_from_epoch_millis(ms: i64) -> Result<i32, DataError> {
    if ms.rem_euclid(MILLIS_PER_DAY) != 0 {
        return Err(DataError::Logical(
            "Kafka Connect Date type should not have any time fields set to non-zero values.".to_owned(),
        ));
    }
    Ok((ms / MILLIS_PER_DAY) as i32)
}

/// Civil date (proleptic Gregorian) of a day count since 1970-01-01 (H. Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a civil date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_bytes_follow_kafka() {
        let s = decimal_schema(2);
        assert_eq!(s.name(), Some(DECIMAL_NAME));
        assert_eq!(s.version(), Some(1));
        let v = BigDecimal::parse("1.50").unwrap();
        let b = decimal_to_bytes(&s, &v).unwrap();
        assert_eq!(&b[..], &[0x00, 0x96]);
        assert_eq!(decimal_from_bytes(&s, &b).unwrap(), v);
        let e = decimal_to_bytes(&s, &BigDecimal::parse("1.5").unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Decimal value has mismatching scale for given Decimal schema. Schema has scale 2, value has scale 1."
        );
        let e = decimal_to_bytes(&Schema::BYTES(), &v).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid Decimal schema: scale parameter not found."
        );
    }

    #[test]
    fn calendar_and_range_checks() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_716), (2023, 12, 25));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        for d in [-800_000i64, -1, 0, 59, 60, 11_016, 19_716, 2_932_896] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert!(check_time_millis(86_400_000).is_ok());
        assert!(check_time_millis(86_400_001).is_err());
        assert!(check_time_millis(-1).is_err());
        assert_eq!(date_from_epoch_millis(86_400_000 * 3).unwrap(), 3);
        assert!(date_from_epoch_millis(5).is_err());
    }
}
